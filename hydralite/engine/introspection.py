"""RFC 7662 token introspection with the fields Hydra returns (REFERENCE.md §5)."""

from __future__ import annotations

from typing import Any

from hydralite.crypto.tokens import ACCESS, REFRESH
from hydralite.engine import access_tokens, scopes
from hydralite.engine.core import Engine, now
from hydralite.engine.forms import Form, single
from hydralite.errors import InvalidRequest, InvalidScope
from hydralite.models import TokenRecord

INACTIVE: dict[str, Any] = {"active": False}


async def find(engine: Engine, token: str) -> tuple[str, TokenRecord] | None:
    """The live token record behind `token` (HMAC or JWT signature checked before any database read), or None."""
    if access_tokens.is_jwt(token):
        # A JWT access token: its signature verified against the access-token keys, then one read.
        record = await access_tokens.lookup(engine, token)
        return ("access_token", record) if record else None
    found = engine.codec.any_signature(token, (ACCESS, REFRESH))
    if found is None:
        return None
    prefix, signature = found
    if prefix == ACCESS:
        record = await engine.repo.get_access_token(signature)
        use = "access_token"
    else:
        record = await engine.repo.get_refresh_token(signature)
        use = "refresh_token"
    if record is None or not record.active:
        return None
    if record.expires_at is not None and record.expires_at <= now():
        return None
    return use, record


async def introspect(engine: Engine, form: Form) -> dict[str, Any]:
    token = single(form, "token")
    if not token:
        raise InvalidRequest("The parameter 'token' is missing.")
    try:
        requested = scopes.parse(single(form, "scope"))
    except InvalidScope:
        return INACTIVE  # fosite: a scope the token cannot have been granted makes it inactive, not an error
    found = await find(engine, token)
    if found is None:
        return INACTIVE
    use, record = found
    if requested and not engine.scopes.all_granted(record.scope, requested):
        return INACTIVE
    iat = int(record.requested_at.timestamp())
    out: dict[str, Any] = {"active": True}
    if record.scope:
        out["scope"] = " ".join(record.scope)
    out["client_id"] = record.client_id
    out["sub"] = record.subject
    session = engine.open(record.session)
    if session.get("obfuscated_subject") and session["obfuscated_subject"] != record.subject:
        out["obfuscated_subject"] = session["obfuscated_subject"]
    if record.expires_at is not None:
        out["exp"] = int(record.expires_at.timestamp())
    out["iat"] = iat
    out["nbf"] = iat
    out["aud"] = record.audience
    out["iss"] = engine.config.issuer
    out["token_type"] = "Bearer"
    out["token_use"] = use
    if session.get("access_token"):
        out["ext"] = session["access_token"]
    return out
