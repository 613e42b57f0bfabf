"""Hydra's token hook (`oauth2.token_hook`) and its legacy refresh-only variant (`oauth2.refresh_token_hook`).

Every grant of the token endpoint calls `apply` at its minting point, after all its checks and before anything is
spent or written, as Hydra runs its AccessRequestHooks between fosite's NewAccessRequest and NewAccessResponse. The
hook gets Hydra's JSON (`{session, request}`, or the legacy `{subject, session, requester, …}` on refresh):
- 200 `{"session": {"access_token": {…}, "id_token": {…}}}` replaces the access token's `ext` and the ID token's
  extra claims (Hydra overwrites them rather than merging; they are then kept on the new tokens, so a later refresh
  starts from them);
- 204 changes nothing; 403 is `access_denied`;
- any other answer, garbage, more than 5 MiB, a refused address or no answer in time is `server_error` with Hydra's
  description, and the grant issues nothing (the code or refresh token stays unspent, as in Hydra).
Hydra's HTTP client retries a 5xx/429 answer twice before giving up; hydralite calls once (bounded by
HYDRALITE_TOKEN_HOOK_TIMEOUT) and answers what Hydra answers after giving up.
"""

from __future__ import annotations

import http
import time
from datetime import UTC, datetime
from typing import Any

import orjson

from hydralite.config.model import HookConfig
from hydralite.engine.core import Engine
from hydralite.engine.forms import Form, single
from hydralite.engine.outbound import OutboundError, ResponseTooLarge
from hydralite.errors import AccessDenied, OAuthError, ServerError
from hydralite.models import Client

#: fosite's Request.Sanitize(["assertion"]): the only form fields a hook sees.
PAYLOAD_FIELDS = ("grant_type", "response_type", "scope", "client_id", "assertion")
MAX_BYTES = 5 << 20  # Hydra reads at most 5 MiB of the answer
EXECUTING = "An error occurred while executing the token hook."
RESPONDED = "The token hook target responded with an error."
_GO_ZERO_TIME = "0001-01-01T00:00:00Z"


def configured(engine: Engine) -> bool:
    """True when any hook is set (grants with a fast path skip `apply` entirely otherwise)."""
    return engine.config.token_hook is not None or engine.config.refresh_token_hook is not None


async def apply(engine: Engine, client: Client, form: Form, subject: str, scope: list[str], audience: list[str],
                data: dict[str, Any], *, requested: list[str] | None = None) -> dict[str, Any]:
    """The session data to mint from: `data` itself, or a copy whose `access_token`/`id_token` a hook replaced.

    `subject` is the real subject, `scope`/`audience` what is granted, `requested` the requested scopes when the
    grant knows them apart (client_credentials, jwt-bearer). Raises Hydra's OAuth error when a hook refuses."""
    config = engine.config
    if config.token_hook is None and config.refresh_token_hook is None:
        return data
    grant_types = [g for g in single(form, "grant_type").split(" ") if g]
    if config.refresh_token_hook is not None and grant_types == ["refresh_token"]:
        requester = {"client_id": client.id, "granted_scopes": scope, "granted_audience": audience,
                     "grant_types": grant_types}
        body = {"subject": subject, "session": session(engine, client, subject, data), "requester": requester,
                "client_id": client.id, "granted_scopes": scope, "granted_audience": audience}
        data = await call(engine, config.refresh_token_hook, body, data)
    if config.token_hook is not None:
        request = {"client_id": client.id, "requested_scopes": scope if requested is None else requested,
                   "granted_scopes": scope, "granted_audience": audience, "grant_types": grant_types,
                   "payload": {k: form[k] for k in PAYLOAD_FIELDS if k in form}}
        body = {"session": session(engine, client, subject, data), "request": request}
        data = await call(engine, config.token_hook, body, data)
    return data


def _go_time(seconds: Any) -> str:
    """A Unix time as Go marshals a time.Time (RFC 3339, UTC); absent is Go's zero time."""
    if not isinstance(seconds, int | float) or isinstance(seconds, bool) or seconds <= 0:
        return _GO_ZERO_TIME
    return datetime.fromtimestamp(int(seconds), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def session(engine: Engine, client: Client, subject: str, data: dict[str, Any]) -> dict[str, Any]:
    """Hydra's oauth2.Session as JSON: the ID-token claims so far (`ext` = consent's session.id_token and `sid`),
    `extra` = the access token's ext, and the claim settings. Token-endpoint-only grants (client_credentials,
    jwt-bearer) carry no login, so their ID-token claims are empty as in Hydra."""
    config = engine.config
    browser = "auth_time" in data
    id_ext: dict[str, Any] | None = None
    if browser:
        id_ext = dict(data.get("id_token") or {})
        if data.get("sid"):
            id_ext["sid"] = data["sid"]  # Hydra keeps sid among the ID token's extra claims
    claims = {
        "jti": "", "iss": config.issuer, "sub": (data.get("obfuscated_subject") or subject) if browser else "",
        "aud": [client.id] if browser else None, "nonce": data.get("nonce") or "", "exp": _GO_ZERO_TIME,
        "iat": _go_time(time.time()), "rat": _go_time(data.get("rat")), "auth_time": _go_time(data.get("auth_time")),
        "at_hash": "", "acr": data.get("acr") or "", "amr": data.get("amr") or None, "c_hash": "", "ext": id_ext,
    }
    return {
        "id_token": {"id_token_claims": claims, "headers": {"extra": {}}, "expires_at": {}, "subject": subject},
        "extra": data.get("access_token") or {},
        "kid": "",
        "client_id": client.id,
        "consent_challenge": "",  # differs from Hydra: the code row does not keep the consent challenge
        "exclude_not_before_claim": config.exclude_not_before_claim,
        "allowed_top_level_claims": list(config.allowed_top_level_claims),
        "mirror_top_level_claims": config.mirror_top_level_claims,
        "preserve_ext_claims": config.preserve_ext_claims,
    }


def _headers(hook: HookConfig) -> dict[str, str]:
    headers = {"Content-Type": "application/json; charset=UTF-8"}
    if hook.auth_in == "header":
        headers[hook.auth_name] = hook.auth_value
    elif hook.auth_in == "cookie":
        headers["Cookie"] = f"{hook.auth_name}={hook.auth_value}"
    return headers


def _status(code: int) -> str:
    try:
        return f"{code} {http.HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


async def call(engine: Engine, hook: HookConfig, body: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """POST `body` to one hook and apply its answer to `data` (Hydra's executeHookAndUpdateSession)."""
    try:
        response = await engine.outbound.post_json(hook.url, body, headers=_headers(hook),
                                                   timeout=engine.config.token_hook_timeout, max_bytes=MAX_BYTES)
    except ResponseTooLarge as exc:  # Hydra reads 5 MiB and fails to decode the rest
        raise ServerError(description=RESPONDED, debug=f"Response from token hook could not be decoded: {exc}") \
            from exc
    except OutboundError as exc:
        raise ServerError(description=EXECUTING, debug=f"Unable to execute HTTP Request: {exc}") from exc
    status = response.status_code
    if status == 204:
        return data
    debug = f"Token hook responded with HTTP status code: {_status(status)}"
    if status == 403:
        raise AccessDenied(description=RESPONDED, debug=debug)
    if status == 429 or (status >= 500 and status != 501):
        raise ServerError(description=EXECUTING, debug=debug)  # what Hydra answers once its retries give up
    if status != 200:
        raise ServerError(description=RESPONDED, debug=debug)
    access, id_token = _decode(response.content)
    return {**data, "access_token": access, "id_token": id_token}


def _decode(content: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """`{"session": {"access_token": {…}, "id_token": {…}}}` as Go decodes it: null or absent is empty, any
    other type is an error."""
    error: OAuthError = ServerError(description=RESPONDED, debug="Response from token hook could not be decoded.")
    try:
        answer = orjson.loads(content)
    except orjson.JSONDecodeError:
        raise error from None
    answer = {} if answer is None else answer
    if not isinstance(answer, dict):
        raise error
    hooked = answer.get("session")
    hooked = {} if hooked is None else hooked
    if not isinstance(hooked, dict):
        raise error
    access, id_token = hooked.get("access_token"), hooked.get("id_token")
    if not isinstance(access, dict | None) or not isinstance(id_token, dict | None):
        raise error
    return access or {}, id_token or {}
