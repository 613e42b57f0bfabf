"""Offline checks of JWT access tokens (strategies.access_token=jwt) against the server's JWKS.

The key set is fetched once, kept, and fetched again when a token names a kid it does not hold (at most once
per `refetch_interval`, so random kids cannot make the guard hammer the server). Offline means a revoked JWT
stays valid here until it expires: use introspection when revocation must take effect at once.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from hydralite.guard.introspector import Unavailable

INACTIVE: dict[str, Any] = {"active": False}
#: Asymmetric algorithms only: a JWKS never holds an HMAC secret, and `none` is never acceptable.
DEFAULT_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA")
#: Claims of an ID token, which the same JWKS verifies: such a token is not an access token.
_ID_TOKEN_CLAIMS = ("nonce", "at_hash", "c_hash", "auth_time", "rat")


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2


def _header(token: str) -> dict[str, Any] | None:
    segment = token.split(".", 1)[0]
    try:
        header = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, UnicodeDecodeError):
        return None
    return header if isinstance(header, dict) else None


class JwksVerifier:
    """Verify JWT access tokens with the keys at `jwks_url`; answers are shaped like introspection answers."""

    def __init__(self, jwks_url: str, *, issuer: str | None = None, algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
                 timeout: float = 5.0, refetch_interval: float = 10.0, leeway: float = 0.0,
                 client: httpx.AsyncClient | None = None, clock: Callable[[], float] = time.time):
        self.url = jwks_url
        self.issuer = issuer
        self.algorithms = tuple(algorithms)
        self.timeout = timeout
        self.refetch_interval = refetch_interval
        self.leeway = leeway
        self.clock = clock
        self._client = client
        self._keyset: KeySet | None = None
        self._kids: set[str] = set()
        self._fetched = float("-inf")
        self._lock: asyncio.Lock | None = None

    async def _fetch(self) -> None:
        try:
            if self._client is not None:
                response = await self._client.get(self.url, timeout=self.timeout)
            else:
                async with httpx.AsyncClient(timeout=self.timeout) as http:
                    response = await http.get(self.url)
            response.raise_for_status()
            data = response.json()
            # joserfc refuses an empty set; a server with no keys yet is simply one that verifies nothing.
            keyset = KeySet.import_key_set(data) if data.get("keys") != [] else KeySet([])
        except (httpx.HTTPError, ValueError, AttributeError, JoseError) as exc:
            raise Unavailable(f"JWKS at {self.url} could not be read: {type(exc).__name__}") from exc
        self._keyset = keyset
        self._kids = {str(k.kid) for k in keyset.keys if k.kid}
        self._fetched = time.monotonic()

    async def _keys_for(self, kid: str) -> KeySet | None:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._keyset is None:
                await self._fetch()
            if kid not in self._kids and time.monotonic() - self._fetched >= self.refetch_interval:
                await self._fetch()
        return self._keyset if kid in self._kids else None

    async def verify(self, token: str) -> dict[str, Any]:
        """An introspection-shaped answer: active with the token's claims, or {"active": false}."""
        header = _header(token)
        if header is None or header.get("alg") not in self.algorithms or not isinstance(header.get("kid"), str):
            return INACTIVE
        keyset = await self._keys_for(header["kid"])
        if keyset is None:
            return INACTIVE
        try:
            claims = jwt.decode(token, keyset, algorithms=[header["alg"]]).claims
        except (JoseError, ValueError):
            return INACTIVE
        return self._answer(claims)

    def _answer(self, claims: dict[str, Any]) -> dict[str, Any]:
        now = self.clock()
        exp, nbf = claims.get("exp"), claims.get("nbf")
        if not isinstance(exp, int | float) or exp <= now - self.leeway:
            return INACTIVE
        if isinstance(nbf, int | float) and nbf > now + self.leeway:
            return INACTIVE
        if self.issuer is not None and claims.get("iss") != self.issuer:
            return INACTIVE
        if not isinstance(claims.get("client_id"), str) or any(c in claims for c in _ID_TOKEN_CLAIMS):
            return INACTIVE  # an ID token (same JWKS) or another JWT is not an access token
        scope = claims.get("scope")
        if not isinstance(scope, str):
            scp = claims.get("scp")
            scope = " ".join(s for s in scp if isinstance(s, str)) if isinstance(scp, list) else ""
        aud = claims.get("aud")
        answer: dict[str, Any] = {"active": True, "client_id": claims["client_id"], "sub": claims.get("sub"),
                                  "aud": [aud] if isinstance(aud, str) else aud or [], "exp": exp,
                                  "iss": claims.get("iss"), "token_type": "Bearer", "token_use": "access_token"}
        if scope:
            answer["scope"] = scope
        for name in ("iat", "nbf", "jti", "ext"):
            if name in claims:
                answer[name] = claims[name]
        return answer
