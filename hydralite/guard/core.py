"""Read the Bearer token of a request (RFC 6750 §2.1), introspect it, and decide: pass or a §3 refusal."""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import parse_qsl

from hydralite.guard import errors
from hydralite.guard.introspector import Introspector
from hydralite.guard.jwks import JwksVerifier, looks_like_jwt

#: RFC 6750 §2.1 b64token syntax.
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")
#: Longer than any token hydralite or Hydra issues: refused without asking the admin API.
MAX_TOKEN_LENGTH = 8192


def bearer_token(headers: Iterable[tuple[bytes, bytes]], query_string: bytes, realm: str | None = None) -> str:
    """The token of the one `Authorization: Bearer` header; raise Denied for a missing or malformed one."""
    values = [value for name, value in headers if name.lower() == b"authorization"]
    in_query = any(name == "access_token" for name, _ in parse_qsl(query_string.decode("latin-1"),
                                                                      keep_blank_values=True))
    if len(values) > 1:
        raise errors.invalid_request("The request has more than one Authorization header.", realm)
    if not values:
        # The URI query method (§2.3) is not supported: a token only there is no credential we accept (§3.1).
        raise errors.missing(realm)
    scheme, _, rest = values[0].decode("latin-1").strip().partition(" ")
    if scheme.lower() != "bearer":
        raise errors.missing(realm)  # another authentication scheme: no error code (§3.1)
    if in_query:
        raise errors.invalid_request("The request uses more than one method for including an access token.", realm)
    token = rest.strip(" ")
    if not token:
        raise errors.invalid_request("The Bearer token is empty.", realm)
    if not _B64TOKEN.fullmatch(token):
        raise errors.invalid_request("The Bearer token is malformed.", realm)
    if len(token) > MAX_TOKEN_LENGTH:
        raise errors.invalid_token("The access token is too long.", realm)
    return token


def _audiences(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [a for a in value if isinstance(a, str)]
    return []


class Guard:
    """One protection policy: required scopes (all of them) and an accepted audience (any of them).

    A JWT goes to the JWKS verifier when there is one (offline), any other token to introspection.
    """

    def __init__(self, introspector: Introspector | None, scopes: Iterable[str] = (),
                 audience: str | Sequence[str] | None = None, realm: str | None = None,
                 verifier: JwksVerifier | None = None):
        if introspector is None and verifier is None:
            raise ValueError("admin_url, introspector or jwks_url is required")
        self.introspector = introspector
        self.verifier = verifier
        self.scopes = tuple(scopes)
        self.audiences = (audience,) if isinstance(audience, str) else tuple(audience or ())
        self.realm = realm

    async def authorize(self, headers: Iterable[tuple[bytes, bytes]], query_string: bytes = b"") -> dict[str, Any]:
        """The introspection answer of the request's token; raise Denied or introspector.Unavailable."""
        token = bearer_token(headers, query_string, self.realm)
        if self.verifier is not None and (self.introspector is None or looks_like_jwt(token)):
            answer = await self.verifier.verify(token)
        else:
            assert self.introspector is not None
            answer = await self.introspector.introspect(token)
        self.check(answer)
        return answer

    def check(self, answer: dict[str, Any]) -> None:
        """Refuse an inactive, expired, non-access, wrong-audience or under-scoped token."""
        realm = self.realm
        if answer.get("active") is not True:
            raise errors.invalid_token("The access token is not active (expired, revoked or unknown).", realm)
        if answer.get("token_use", "access_token") != "access_token":
            raise errors.invalid_token("The token is not an access token.", realm)
        exp = answer.get("exp")
        if isinstance(exp, int | float) and not isinstance(exp, bool) and exp <= time.time():
            raise errors.invalid_token("The access token expired.", realm)
        if self.audiences and not set(self.audiences) & set(_audiences(answer.get("aud"))):
            raise errors.invalid_token("The access token is not meant for this resource (audience).", realm)
        granted = str(answer.get("scope") or "").split()
        if any(scope not in granted for scope in self.scopes):
            raise errors.insufficient_scope(" ".join(self.scopes), realm)
