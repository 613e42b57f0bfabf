"""Protect a Python API with hydralite (or Hydra) access tokens, checked by introspection.

`BearerGuard(app, admin_url=…, scopes=(…), audience=None)` is ASGI middleware; `RequireToken(…)` is the same
check as a Starlette/FastAPI dependency. Both answer as RFC 6750 §3 describes and cache introspection answers.
"""

from hydralite.guard.asgi import BearerGuard
from hydralite.guard.core import Guard, bearer_token
from hydralite.guard.dependency import RequireToken
from hydralite.guard.errors import Denied
from hydralite.guard.introspector import Introspector, Unavailable

__all__ = ["BearerGuard", "Denied", "Guard", "Introspector", "RequireToken", "Unavailable", "bearer_token"]
