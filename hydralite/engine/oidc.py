"""OpenID Connect: ID tokens (OIDC Core §2, §3.1.3.6) and the userinfo response (§5.3)."""

from __future__ import annotations

import base64
import hashlib
import time
import uuid
from typing import Any

from hydralite.engine import access_tokens, pairwise
from hydralite.engine.core import Engine, now
from hydralite.models import Client, TokenRecord

ID_TOKEN_SET = "hydra.openid.id-token"
_RESERVED = {"iss", "sub", "aud", "exp", "iat", "rat", "auth_time", "jti", "nonce", "at_hash", "c_hash", "acr",
             "amr", "sid", "azp"}
_NOT_IN_USERINFO = {"nonce", "at_hash", "c_hash", "exp", "sid", "jti"}


def token_hash(value: str, alg: str = "RS256") -> str:
    """`at_hash`/`c_hash` (OIDC Core §3.3.2.11): left half of the hash the JWS alg uses, base64url.

    Hydra always hashes with SHA-256 (its session headers carry no alg); for a 384/512 or EdDSA key that would
    not verify, so hydralite follows the spec (identical for RS256/ES256/PS256).
    """
    if alg.endswith("384"):
        digest = hashlib.sha384(value.encode("ascii")).digest()
    elif alg.endswith("512") or alg == "EdDSA":
        digest = hashlib.sha512(value.encode("ascii")).digest()
    else:
        digest = hashlib.sha256(value.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:len(digest) // 2]).rstrip(b"=").decode()


def at_hash(access_token: str) -> str:
    """Left half of SHA-256 of the access token, base64url (RS256/ES256)."""
    return token_hash(access_token)


def claims(engine: Engine, client: Client, subject: str, data: dict[str, Any], lifespan: float,
           access_token: str | None) -> dict[str, Any]:
    """The ID token claims from the session kept on the code or refresh token; standard claims win."""
    issued = int(time.time())
    out: dict[str, Any] = {k: v for k, v in (data.get("id_token") or {}).items() if k not in _RESERVED}
    # The pairwise subject fixed at consent (engine/pairwise.py) is the one this client sees.
    out.update({"iss": engine.config.issuer, "sub": data.get("obfuscated_subject") or subject,
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
    out.update({"sub": data.get("obfuscated_subject") or subject, "aud": [client_id], "iss": engine.config.issuer})
    for key in ("auth_time", "rat", "acr", "amr"):
        if data.get(key):
            out[key] = data[key]
    return {k: v for k, v in out.items() if k not in _NOT_IN_USERINFO}


async def signed_userinfo(engine: Engine, claims: dict[str, Any]) -> str:
    """The userinfo claims as a JWT from the ID-token key set, with a fresh `jti` and `iat` as Hydra adds them."""
    return await engine.keys.sign(ID_TOKEN_SET, {**claims, "jti": str(uuid.uuid4()), "iat": int(time.time())})


async def userinfo_token(engine: Engine, token: str) -> TokenRecord | None:
    """The unexpired access token (opaque or JWT) behind a bearer token, or None (userinfo answers 401 then)."""
    signature = await access_tokens.signature(engine, token) if token else None
    record = await engine.repo.get_access_token(signature) if signature else None
    if record is None or (record.expires_at is not None and record.expires_at <= now()):
        return None
    return record


# The scopes and claims Hydra always advertises (webfinger.oidc_discovery.supported_* only add to them).
_DISCOVERY_SCOPES = ["offline_access", "offline", "openid"]
_DISCOVERY_CLAIMS = ["sub"]


def _registration_endpoint(configured: str, enabled: bool, public: str) -> dict[str, str]:
    """Hydra lists webfinger.oidc_discovery.client_registration_url (omitted when unset); hydralite also names its
    own /oauth2/register while registration is enabled and nothing is configured (Hydra then omits it)."""
    if configured:
        return {"registration_endpoint": configured}
    return {"registration_endpoint": f"{public}/oauth2/register"} if enabled else {}


async def discovery(engine: Engine) -> dict[str, Any]:
    """OpenID Connect discovery with every field of Hydra v25's document, in its order and with its types.

    Endpoint URLs are Hydra's. Capability lists and flags say what hydralite serves today; the issue that
    builds a feature turns its value into Hydra's.
    """
    config = engine.config
    public, issuer = config.public_url.rstrip("/"), config.issuer.rstrip("/")
    try:
        alg = (await engine.keys.signing_key(ID_TOKEN_SET)).get("alg") or "RS256"
    except LookupError:  # a set holding only public keys: nothing signs, so name the default as Hydra generates it
        alg = "RS256"
    return {
        "issuer": config.issuer,
        "authorization_endpoint": f"{public}/oauth2/auth",
        "device_authorization_endpoint": f"{public}/oauth2/device/auth",
        **_registration_endpoint(config.client_registration_url, config.dynamic_client_registration, public),
        "token_endpoint": f"{public}/oauth2/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "subject_types_supported": pairwise.supported_types(config),
        "response_types_supported": ["code", "code id_token", "id_token", "token id_token", "token",
                                     "token id_token code"],
        "claims_supported": list(_DISCOVERY_CLAIMS),
        # + jwt-bearer: Hydra serves that grant without advertising it; RFC 8414 §2 lists the grants a server supports.
        "grant_types_supported": ["authorization_code", "implicit", "client_credentials", "refresh_token",
                                  "urn:ietf:params:oauth:grant-type:device_code",
                                  "urn:ietf:params:oauth:grant-type:jwt-bearer"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "userinfo_endpoint": f"{public}/userinfo",
        "scopes_supported": list(_DISCOVERY_SCOPES),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "private_key_jwt",
                                                  "none"],
        # Hydra lists no token_endpoint_auth_signing_alg_values_supported (its client validation allows RS*, PS*, ES*).
        "userinfo_signing_alg_values_supported": ["none", alg],
        "id_token_signing_alg_values_supported": [alg],
        "id_token_signed_response_alg": [alg],
        "userinfo_signed_response_alg": [alg],
        "request_parameter_supported": True,  # engine/request_objects.py
        "request_uri_parameter_supported": True,
        "require_request_uri_registration": True,
        "claims_parameter_supported": False,
        "revocation_endpoint": f"{issuer}/oauth2/revoke",
        "backchannel_logout_supported": True,  # engine/backchannel.py; `sid` is always sent, as in Hydra
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": True,  # the logout page's iframes (engine/logout.py)
        "frontchannel_logout_session_supported": True,
        "end_session_endpoint": f"{issuer}/oauth2/sessions/logout",
        "request_object_signing_alg_values_supported": ["none", "RS256", "ES256"],
        # Hydra advertises "plain" too but refuses it at the authorization endpoint; only what works is listed.
        "code_challenge_methods_supported": ["S256"],
        # Hydra's credentials_endpoint_draft_00 / credentials_supported_draft_00 are left out: hydralite has no
        # /credentials endpoint (OpenID4VCI draft 00) for them to point at.
        # RFC 9207: hydralite puts `iss` in authorization responses (Hydra v25 does not advertise it).
        "authorization_response_iss_parameter_supported": True,
    }
