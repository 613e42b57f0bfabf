"""PKCE (RFC 7636), S256 only as in Hydra; a verifier without a challenge is a downgrade and is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from hydralite.errors import InvalidGrant, InvalidRequest

_VERIFIER = re.compile(r"^[A-Za-z0-9\-._~]{43,128}\Z")


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).rstrip(b"=").decode()


def check_challenge(challenge: str, method: str, *, required: bool) -> None:
    """At the authorize endpoint: S256 only; a challenge may be mandatory by configuration."""
    if not challenge:
        if method:
            raise InvalidRequest("The code_challenge_method was given without a code_challenge.")
        if required:
            raise InvalidRequest("Clients must include a code_challenge when performing the authorize code flow, "
                                 "but it is missing.")
        return
    if method != "S256":
        raise InvalidRequest("Clients must use code_challenge_method=S256, plain is not allowed.")
    if not _VERIFIER.match(challenge):
        raise InvalidRequest("The code_challenge is malformed.")


def verify(challenge: str, verifier: str) -> None:
    """At the token endpoint."""
    if not challenge:
        if verifier:
            # RFC 9700 §4.8.2: a verifier for a code issued without a challenge is a PKCE downgrade.
            raise InvalidGrant("The PKCE code verifier was sent but the authorization request had no code challenge.")
        return
    if not verifier:
        raise InvalidGrant("The PKCE code verifier must be at least 43 characters.")
    if not _VERIFIER.match(verifier):
        raise InvalidGrant("The PKCE code verifier must be 43 to 128 characters of [A-Za-z0-9-._~].")
    if not hmac.compare_digest(s256(verifier), challenge):
        raise InvalidGrant("The PKCE code challenge did not match the code verifier.")
