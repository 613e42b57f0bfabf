"""Protect a Python API with hydralite (or Hydra) access tokens, checked by introspection.

`BearerGuard(app, admin_url=…, scopes=(…), audience=None)` is ASGI middleware; `RequireToken(…)` is the same
check as a Starlette/FastAPI dependency. Both answer as RFC 6750 §3 describes and cache introspection answers;
with `jwks_url=…` they verify JWT access tokens offline against the server's key set.
"""

from hydralite.guard.asgi import BearerGuard
from hydralite.guard.core import Guard, bearer_token
from hydralite.guard.dependency import RequireToken
from hydralite.guard.errors import Denied
from hydralite.guard.introspector import Introspector, Unavailable
from hydralite.guard.jwks import JwksVerifier

__all__ = ["BearerGuard", "Denied", "Guard", "Introspector", "JwksVerifier", "RequireToken", "Unavailable",
           "bearer_token"]
