"""RequireToken: the guard as a Starlette/FastAPI dependency (FastAPI not required).

No `from __future__ import annotations` here: FastAPI reads `__call__`'s annotation at run time and must see
Starlette's Request class itself.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

from hydralite.guard.asgi import make_guard
from hydralite.guard.errors import Denied
from hydralite.guard.introspector import Introspector, Unavailable
from hydralite.guard.jwks import JwksVerifier


class RequireToken:
    """`Depends(RequireToken(admin_url=…, scopes=(…)))` in FastAPI, `await require(request)` in Starlette.

    Returns the introspection answer and sets `request.state.token`; refuses with an HTTPException carrying
    RFC 6750's WWW-Authenticate header.
    """

    def __init__(self, admin_url: str | None = None, scopes: Iterable[str] = (),
                 audience: str | Sequence[str] | None = None, *, realm: str | None = None,
                 introspector: Introspector | None = None, ttl: float = 60.0, inactive_ttl: float = 5.0,
                 timeout: float = 5.0, jwks_url: str | None = None, issuer: str | None = None,
                 verifier: JwksVerifier | None = None):
        self.guard = make_guard(admin_url, scopes, audience, realm, introspector, ttl, inactive_ttl, timeout,
                                jwks_url, issuer, verifier)

    async def __call__(self, request: HTTPConnection) -> dict[str, Any]:
        try:
            answer = await self.guard.authorize(request.headers.raw, request.scope.get("query_string", b""))
        except Denied as denied:
            raise HTTPException(denied.status, detail=denied.description or None, headers=denied.headers()) from None
        except Unavailable:
            raise HTTPException(503, detail="The token could not be checked; try again.",
                                headers={"Retry-After": "1"}) from None
        request.state.token = answer
        return answer
