"""Minting the access/refresh/ID token set of a browser grant (shared by the code and refresh grants)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hydralite.crypto.tokens import REFRESH
from hydralite.engine import access_tokens, oidc
from hydralite.engine.core import Engine, expiry, now
from hydralite.models import Client, NewToken, TokenResponse

OFFLINE = ("offline", "offline_access")


@dataclass
class Minted:
    access: NewToken
    access_token: str
    refresh: NewToken | None
    refresh_token: str | None
    lifespan: float
    issued: datetime


async def mint(engine: Engine, client: Client, grant: str, subject: str, scope: list[str], audience: list[str],
               request_id: str, data: dict[str, Any]) -> Minted:
    """New AT (+ RT when offline was granted and the client may refresh); `grant` picks per-client lifespans.

    The AT follows the client's strategy (opaque or JWT, with the consent's session.access_token as `ext`);
    refresh tokens are always opaque, as in Hydra."""
    issued = now()
    config = engine.config
    at_life = engine.lifespan(client, f"{grant}_grant_access_token_lifespan", config.ttl_access_token)
    at_expires = expiry(issued, at_life)
    access_token, at_sig = await access_tokens.mint(engine, client, subject, scope, audience, issued, at_expires,
                                                    data.get("access_token") or {})
    sealed = engine.seal(data)
    access = NewToken(signature=at_sig, request_id=request_id, client_id=client.id, subject=subject, scope=scope,
                      audience=audience, requested_at=issued, expires_at=at_expires, session=sealed,
                      flow_id=request_id)
    refresh = refresh_token = None
    if any(s in scope for s in OFFLINE) and "refresh_token" in client.grant_types:
        rt_life = engine.lifespan(client, f"{grant}_grant_refresh_token_lifespan", config.ttl_refresh_token)
        refresh_token, rt_sig = engine.codec.generate(REFRESH)
        refresh = NewToken(signature=rt_sig, request_id=request_id, client_id=client.id, subject=subject,
                           scope=scope, audience=audience, requested_at=issued, expires_at=expiry(issued, rt_life),
                           session=sealed, flow_id=request_id, access_token_signature=at_sig)
    return Minted(access, access_token, refresh, refresh_token, at_life, issued)


async def response(engine: Engine, client: Client, grant: str, minted: Minted, data: dict[str, Any]
                   ) -> TokenResponse:
    id_token = None
    if "openid" in minted.access.scope:
        life = engine.lifespan(client, f"{grant}_grant_id_token_lifespan", engine.config.ttl_id_token)
        id_token = await oidc.id_token(engine, client, minted.access.subject, data, life, minted.access_token)
    return TokenResponse(access_token=minted.access_token, expires_in=round(minted.lifespan),
                         scope=" ".join(minted.access.scope), refresh_token=minted.refresh_token, id_token=id_token)
