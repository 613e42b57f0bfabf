"""The protocol core: client authentication, grants, introspection, revocation, flows.

It imports neither Starlette nor asyncpg; it reaches storage through engine.repository.
"""
