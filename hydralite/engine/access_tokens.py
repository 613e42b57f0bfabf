"""Access tokens in either of Hydra's strategies: opaque (`ory_at_…`, HMAC) or a JWT signed with the key set
`hydra.jwt.access-token` (fosite's DefaultJWTStrategy with Hydra's session claims).

Both are stored the same way, one row per token found by its signature, so introspection, revocation, the admin
token deletion and reuse detection treat them alike. For a JWT the stored signature is a SHA-384 hash of the JWS
signature part, as Hydra's x.SignatureHash stores it (a 4096-bit RSA signature would make a long primary key).
"""

from __future__ import annotations

import hashlib
import time
import uuid
from datetime import datetime
from typing import Any

from hydralite.crypto.tokens import ACCESS
from hydralite.engine.core import Engine, now
from hydralite.engine.keys import ACCESS_TOKEN_SET
from hydralite.models import Client, TokenRecord

JWT = "jwt"
OPAQUE = "opaque"
#: Claims of the token itself; oauth2.allowed_top_level_claims can never override them (Hydra's list).
RESERVED = frozenset({"iss", "sub", "aud", "exp", "nbf", "iat", "jti", "client_id", "scp", "ext"})


def strategy(engine: Engine, client: Client) -> str:
    """The client's `access_token_strategy` when set, else `strategies.access_token` (Hydra's order)."""
    return client.metadata.get("access_token_strategy") or engine.config.access_token_strategy


def is_jwt(token: str) -> bool:
    return token.count(".") == 2


def jwt_signature(token: str) -> str:
    """The stored signature of a JWT access token: the SHA-384 hex of its JWS signature part."""
    return hashlib.sha384(token.rpartition(".")[2].encode("ascii", "replace")).hexdigest()


def claims(engine: Engine, client: Client, subject: str, scope: list[str], audience: list[str], issued: datetime,
           expires_at: datetime | None, ext: dict[str, Any]) -> dict[str, Any]:
    """Hydra's Session.GetJWTClaims through fosite's JWTClaims.ToMap: `ext` is the consent's
    session.access_token, mirrored and/or promoted to the top level as oauth2.*_top_level_claims say."""
    config = engine.config
    allowed = [c for c in config.allowed_top_level_claims if c not in RESERVED]
    out: dict[str, Any] = {c: ext[c] for c in allowed if c in ext}
    out["client_id"] = client.id
    if config.mirror_top_level_claims:
        out["ext"] = ext
    elif config.preserve_ext_claims:
        rest = {k: v for k, v in ext.items() if k not in allowed}
        if rest:
            out["ext"] = rest
    iat = int(issued.timestamp())
    out.update({"sub": subject, "iss": config.issuer, "jti": str(uuid.uuid4()), "aud": list(audience), "iat": iat})
    if not config.exclude_not_before_claim:
        out["nbf"] = iat
    if expires_at is not None:
        out["exp"] = int(expires_at.timestamp())
    if config.jwt_scope_claim in ("list", "both"):
        out["scp"] = list(scope)
    if config.jwt_scope_claim in ("string", "both"):
        out["scope"] = " ".join(scope)
    return out


async def mint(engine: Engine, client: Client, subject: str, scope: list[str], audience: list[str],
               issued: datetime, expires_at: datetime | None, ext: dict[str, Any]) -> tuple[str, str]:
    """(access token, signature to store): the one place an access token is made, in the client's strategy."""
    if strategy(engine, client) == JWT:
        token = await engine.keys.sign(ACCESS_TOKEN_SET, claims(engine, client, subject, scope, audience, issued,
                                                                 expires_at, ext))
        return token, jwt_signature(token)
    return engine.codec.generate(ACCESS)


async def signature(engine: Engine, token: str, *, accept_expired: bool = False) -> str | None:
    """The stored signature of an access token whose own proof holds (HMAC, or a JWT signed by one of the
    access-token keys, unexpired and already valid), else None; nothing here reads the database."""
    if not is_jwt(token):
        return engine.codec.signature(token, ACCESS)
    verified = await engine.keys.verify(token, ACCESS_TOKEN_SET, accept_expired=accept_expired)
    if verified is None:
        return None
    nbf = verified.get("nbf")
    if not accept_expired and isinstance(nbf, int | float) and nbf > time.time():
        return None
    return jwt_signature(token)


async def lookup(engine: Engine, token: str) -> TokenRecord | None:
    """The live access-token row behind `token` (verified first, then one read), or None."""
    sig = await signature(engine, token)
    record = await engine.repo.get_access_token(sig) if sig else None
    if record is None or not record.active:
        return None
    if record.expires_at is not None and record.expires_at <= now():
        return None
    return record
