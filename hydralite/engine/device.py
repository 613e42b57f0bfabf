"""The device authorization grant (RFC 8628) as Hydra v25 runs it, up to the token endpoint.

`POST /oauth2/device/auth` stores a device code (`ory_dc_…`, signature only) and the HMAC of its user code.
The browser then walks `/oauth2/device/verify`: without verifiers it gets a device challenge and goes to
`urls.device.verification`; the UI binds a user code to the challenge through the admin API (device_admin.py)
and comes back with a `device_verifier`; from there the usual login and consent of engine/flows.py run, and the
consent verifier approves (or a rejection denies) the device code, ending at `urls.device.success`.
"""

from __future__ import annotations

import hmac
import secrets as _secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from hydralite.crypto.tokens import DEVICE, b64
from hydralite.engine import audience, client_auth, flows, scopes
from hydralite.engine.authorize import AuthorizeRequest, ClientError, Response
from hydralite.engine.core import Engine, now
from hydralite.engine.forms import Form, reject_repeats, single
from hydralite.errors import (
    AccessDenied,
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    OAuthError,
    RequestForbidden,
    RequestUnauthorized,
    ServerError,
)
from hydralite.models import Client

DEVICE_GRANT = flows.DEVICE
VERIFY_PATH = "/oauth2/device/verify"
#: Wrong user codes one device challenge may take before it is locked (hydralite; Hydra does not limit them).
CHALLENGE_GUESSES = 5
_USER_CODE_TRIES = 3  # fosite's MaxAttempts at drawing a user code that is not taken
_MAX_USER_CODE = 128


class AuthorizationPending(OAuthError):
    error: ClassVar[str] = "authorization_pending"
    status_code: ClassVar[int] = 400
    description: ClassVar[str] = ("The authorization request is still pending as the end user hasn't yet completed "
                                  "the user-interaction steps.")


class SlowDown(OAuthError):
    error: ClassVar[str] = "slow_down"
    status_code: ClassVar[int] = 400
    description: ClassVar[str] = "The authorization request was rate-limited to prevent system overload."


class ExpiredToken(OAuthError):
    error: ClassVar[str] = "expired_token"
    status_code: ClassVar[int] = 400
    description: ClassVar[str] = "The device_code has expired, and the device authorization session has concluded."


@dataclass
class DeviceAuthorizeRequest(AuthorizeRequest):
    """The authorization request the login/consent flow of a device carries; the flow row keeps the device code's
    signature, which is how the consent step finds the device code it approves."""

    device_signature: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "device_signature": self.device_signature}


def flow_request(client: Client, scope: list[str] | None = None, aud: list[str] | None = None,
                 signature: str = "") -> DeviceAuthorizeRequest:
    return DeviceAuthorizeRequest(client=client, redirect_uri="", redirect_uri_sent=False, response_type=DEVICE_GRANT,
                                  response_mode="", state="", scope=scope or [], audience=aud or [],
                                  device_signature=signature)


def normalize_user_code(code: str) -> str:
    """RFC 8628 §6.1: compare user codes ignoring case and the separators people type (spaces, '-')."""
    return "".join(c for c in code if not c.isspace() and c != "-").casefold()


def user_code_signature(engine: Engine, code: str) -> str:
    # Differs from Hydra on purpose: Hydra signs the code as typed, so "abcd" and "ABCD" are different codes.
    return b64(engine.codec.mac(b"hydralite-user-code\0" + normalize_user_code(code).encode("utf-8", "replace")))


def generate_user_code(length: int, charset: str) -> str:
    return "".join(_secrets.choice(charset) for _ in range(length))


def verification_uri(engine: Engine) -> str:
    return f"{engine.config.public_url}{VERIFY_PATH}"


def with_query(url: str, name: str, value: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode({name: value})}"


def set_query(url: str, **values: str) -> str:
    """`url` with these query parameters set (replacing any of the same name), as Go's urlx.SetQuery."""
    parts = urlsplit(url)
    kept = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in values]
    return urlunsplit((*parts[:3], urlencode(kept + list(values.items())), parts.fragment))


async def authorize_device(engine: Engine, form: Form, authorization: str | None) -> dict[str, Any]:
    """RFC 8628 §3.1–3.2: authenticate the client as at the token endpoint, check grant, scope and audience, store
    the codes and answer them."""
    reject_repeats(form)
    # Hydra also demands client_id in the body when the client authenticates with Basic; RFC 8628 §3.1 does not,
    # so hydralite only requires that a client_id sent in the body matches the header (client_auth checks it).
    client = await client_auth.authenticate(form, authorization, engine.repo, engine.hasher,
                                            assertions=engine.assertions)
    if DEVICE_GRANT not in client.grant_types:
        raise InvalidGrant("The requested OAuth 2.0 Client does not have the "
                           "'urn:ietf:params:oauth:grant-type:device_code' grant.")
    wanted = scopes.parse(single(form, "scope"))
    engine.scopes.check_allowed(client.scopes, wanted)
    wanted_audience = audience.parse(form.get("audience", []))
    audience.check_allowed(client.audience, wanted_audience)

    config = engine.config
    issued = now().replace(microsecond=0)
    expires = issued + timedelta(seconds=config.ttl_device_user_code)
    device_code, signature = engine.codec.generate(DEVICE)
    for _ in range(_USER_CODE_TRIES):
        user_code = generate_user_code(config.device_user_code_length, config.device_user_code_charset)
        if await engine.repo.insert_device_code(signature, user_code_signature(engine, user_code), client.id, wanted,
                                                wanted_audience, issued, expires):
            break
    else:
        raise ServerError("Exceeded user-code generation max attempts.")
    uri = verification_uri(engine)
    return {"device_code": device_code, "user_code": user_code, "verification_uri": uri,
            "verification_uri_complete": f"{uri}?user_code={quote(user_code, safe='')}",
            "expires_in": int(config.ttl_device_user_code), "interval": int(config.device_polling_interval)}


def device_csrf_cookie(engine: Engine) -> str:
    return engine.config.cookie_name("ory_hydra_device_csrf")  # Hydra: one cookie, not per client


async def verify(engine: Engine, params: Form, cookies: dict[str, str], client_ip: str) -> Response:
    """GET /oauth2/device/verify: Hydra's four states, told apart by the verifier the browser brings back."""
    device_verifier = single(params, "device_verifier").strip()
    login_verifier = single(params, "login_verifier").strip()
    consent_verifier = single(params, "consent_verifier").strip()
    if not (device_verifier or login_verifier or consent_verifier):
        return await _start(engine, params, client_ip)
    if device_verifier and not (login_verifier or consent_verifier):
        return await _after_device(engine, params, device_verifier, cookies)
    client = await _query_client(engine, params)
    if login_verifier:
        try:
            return await flows.after_login(engine, flow_request(client), login_verifier, cookies)
        except ClientError as exc:
            await engine.repo.deny_device_code("login", login_verifier)  # only a rejected login denies
            raise exc.error from exc
    return await _after_consent(engine, client, consent_verifier, cookies)


async def _start(engine: Engine, params: Form, client_ip: str) -> Response:
    challenge, csrf = uuid.uuid4().hex, _secrets.token_hex(16)
    # As Hydra: the request URL keeps the query but never the user code.
    kept = [(k, v) for k, vs in params.items() if k.lower() != "user_code" for v in vs]
    request_url = verification_uri(engine) + (f"?{urlencode(kept)}" if kept else "")
    await engine.repo.insert_device_challenge(challenge, csrf, request_url, client_ip[:64], now())
    location = with_query(engine.config.device_verification_url, "device_challenge", challenge)
    user_code = single(params, "user_code")
    if user_code:
        location = with_query(location, "user_code", user_code[:_MAX_USER_CODE])
    ttl = int(engine.config.ttl_login_consent_request)
    return Response(location=location, status=302, cookies=[(device_csrf_cookie(engine), csrf, ttl)])


async def _after_device(engine: Engine, params: Form, verifier: str, cookies: dict[str, str]) -> Response:
    unused = "The device verifier has already been used, has not been granted, or is invalid."
    expected = await engine.repo.device_verifier_csrf(verifier) if len(verifier) <= 64 else None
    if expected is None:
        raise AccessDenied(unused)
    # The CSRF cookie is checked before the verifier is spent: a leaked verifier alone cannot burn it.
    got = cookies.get(device_csrf_cookie(engine), "")
    if not got or not hmac.compare_digest(got.encode(), expected.encode()):
        raise RequestForbidden("The device request was not initiated by this browser: the CSRF cookie is missing or "
                               "does not match.")
    row = await engine.repo.spend_device_verifier(verifier, expected)
    if row is None:  # spent meanwhile by a concurrent request
        raise AccessDenied(unused)
    if row["requested_at"] + timedelta(seconds=engine.config.ttl_login_consent_request) < now():
        raise RequestUnauthorized("The device request has expired, please try again.")
    asked = single(params, "client_id")
    if asked and asked != row["client_id"]:
        raise InvalidClient("The client_id does not match the one of the device request.")
    if row["device_status"] != "pending" or row["expires_at"] <= now():
        raise ExpiredToken("The user code expired before it was confirmed.")
    client = await engine.repo.get_client(row["client_id"])
    if client is None:
        raise InvalidClient("Client does not exist")
    request_url = set_query(row["request_url"], client_id=client.id)
    req = flow_request(client, list(row["requested_scope"]), list(row["requested_audience"]),
                       row["device_signature"])
    try:
        return await flows.start_login(engine, req, cookies, request_url)
    except ClientError as exc:
        raise exc.error from exc


async def _after_consent(engine: Engine, client: Client, verifier: str, cookies: dict[str, str]) -> Response:
    req = flow_request(client)
    try:
        flow = await flows.spend_consent(engine, req, verifier, cookies)
    except ClientError as exc:
        await engine.repo.deny_device_code("consent", verifier)  # only a rejected consent denies
        raise exc.error from exc
    signature = (flow["request"] or {}).get("device_signature") or ""
    if not signature:
        raise InvalidRequest("The consent request does not belong to a device authorization.")
    # the `sub` this client sees (pairwise, OIDC Core §8, or forced at login accept), fixed now as for the code flow
    data = flows.session_data(req, flow, flows.seen_subject(engine, client, flow))
    if not await engine.repo.approve_device_code(signature, flow["id"], flow["subject"], list(flow["granted_scope"]),
                                                 list(flow["granted_audience"]), engine.seal(data)):
        raise ExpiredToken("The device code expired before the user confirmed it.")
    return Response(location=set_query(engine.config.device_success_url, client_id=client.id), status=302)


async def _query_client(engine: Engine, params: Form) -> Client:
    client_id = single(params, "client_id")
    if not client_id:
        raise InvalidClient("Query parameter 'client_id' is missing.")
    client = await engine.repo.get_client(client_id) if len(client_id) <= 255 else None
    if client is None:
        raise InvalidClient("Client does not exist")
    return client
