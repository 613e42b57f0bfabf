"""OpenID Connect: ID tokens (OIDC Core §2, §3.1.3.6) and the userinfo response (§5.3)."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from typing import Any

from hydralite.engine.core import Engine
from hydralite.models import Client

ID_TOKEN_SET = "hydra.openid.id-token"
_RESERVED = {"iss", "sub", "aud", "exp", "iat", "rat", "auth_time", "jti", "nonce", "at_hash", "c_hash", "acr",
             "amr", "sid", "azp"}
_NOT_IN_USERINFO = {"nonce", "at_hash", "c_hash", "exp", "sid", "jti"}


def at_hash(access_token: str) -> str:
    """Left half of SHA-256 of the access token, base64url (RS256/ES256)."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()


def claims(engine: Engine, client: Client, subject: str, data: dict[str, Any], lifespan: float,
           access_token: str | None) -> dict[str, Any]:
    """The ID token claims from the session kept on the code or refresh token; standard claims win."""
    issued = int(time.time())
    out: dict[str, Any] = {k: v for k, v in (data.get("id_token") or {}).items() if k not in _RESERVED}
    out.update({"iss": engine.config.issuer, "sub": subject,
                "aud": [client.id], "exp": issued + int(lifespan), "iat": issued,
                "rat": data.get("rat", issued), "auth_time": data.get("auth_time", issued),
                "jti": str(uuid.uuid4())})
    if data.get("nonce"):
        out["nonce"] = data["nonce"]
    if access_token:
        out["at_hash"] = at_hash(access_token)
    if data.get("acr"):
        out["acr"] = data["acr"]
    if data.get("amr"):
        out["amr"] = data["amr"]
    if data.get("sid"):
        out["sid"] = data["sid"]
    return out


async def id_token(engine: Engine, client: Client, subject: str, data: dict[str, Any], lifespan: float,
                   access_token: str | None) -> str:
    return await engine.keys.sign(ID_TOKEN_SET, claims(engine, client, subject, data, lifespan, access_token))


def userinfo(engine: Engine, client_id: str, subject: str, data: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: v for k, v in (data.get("id_token") or {}).items() if k not in _RESERVED}
    out.update({"sub": subject, "aud": [client_id], "iss": engine.config.issuer})
    for key in ("auth_time", "rat", "acr", "amr"):
        if data.get(key):
            out[key] = data[key]
    return {k: v for k, v in out.items() if k not in _NOT_IN_USERINFO}
