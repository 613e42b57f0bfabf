"""HTTP: the public and admin Starlette apps."""
