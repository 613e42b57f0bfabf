"""The login → consent state machine seen from the browser (REFERENCE.md §6a).

Each authorization request that needs a user becomes one flow row. Verifiers are spent by a
single UPDATE … WHERE status IN (…) RETURNING, so a replayed verifier finds nothing and gets
access_denied; CSRF cookies are bound to the flow and compared in constant time.
"""

from __future__ import annotations

import hmac
import secrets as _secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from hydralite.crypto.cookies import murmur3_32
from hydralite.crypto.tokens import CODE
from hydralite.engine import pairwise, response_types
from hydralite.engine.authorize import AuthorizeRequest, ClientError, Response, error_response, respond
from hydralite.engine.core import Engine, now
from hydralite.engine.redirects import is_secure
from hydralite.errors import (
    AccessDenied,
    ConsentRequired,
    InvalidClient,
    InvalidRequest,
    LoginRequired,
    OAuthError,
    RequestForbidden,
    RequestUnauthorized,
)
from hydralite.models import Client

SESSION_COOKIE = "ory_hydra_session"
#: The response_type of the login/consent requests the device flow makes (engine/device.py); clients never send it.
DEVICE = "urn:ietf:params:oauth:grant-type:device_code"


def csrf_cookie_name(engine: Engine, kind: str, client_id: str) -> str:
    return f"{engine.config.cookie_name(f'ory_hydra_{kind}_csrf')}_{murmur3_32(client_id.encode())}"


def session_cookie_name(engine: Engine) -> str:
    return engine.config.cookie_name(SESSION_COOKIE)


def expired(engine: Engine, flow: Any) -> bool:
    return flow["requested_at"] + timedelta(seconds=engine.config.ttl_login_consent_request) < now()


async def current_session(engine: Engine, cookies: dict[str, str]) -> Any:
    sid = engine.cookies.unsign(cookies.get(session_cookie_name(engine)))
    return await engine.repo.get_login_session(sid) if sid else None


async def start_login(engine: Engine, req: AuthorizeRequest, cookies: dict[str, str], request_url: str) -> Response:
    """Hydra's requestAuthentication and forwardAuthenticationRequest: skip the login UI for a remembered session
    that max_age and the id_token_hint allow; the hint's claims go to the login request's oidc_context."""
    session = await current_session(engine, cookies)
    issued = now()
    skip = session is not None and not ({"login", "select_account"} & req.prompt)
    if skip and req.max_age is not None and (issued - session["authenticated_at"]).total_seconds() > req.max_age:
        if "none" in req.prompt:
            raise ClientError(LoginRequired("Request failed because prompt is set to 'none' and authentication time "
                                            "reached 'max_age'."), req)
        skip = False
    claims = await _hint_or_error(engine, req) if skip and req.id_token_hint else None
    if claims is not None and not await _hint_matches(engine, req, claims["sub"], session["subject"]):
        raise ClientError(LoginRequired("Request failed because subject claim from id_token_hint does not match "
                                        "subject from authentication session."), req)
    if "none" in req.prompt and not skip:
        raise ClientError(LoginRequired("Prompt 'none' was requested, but no existing login session was found."), req)
    if req.id_token_hint and claims is None:
        claims = await _hint_or_error(engine, req)
    flow_id = uuid.uuid4().hex
    csrf = _secrets.token_hex(16)
    session_id = session["id"] if skip else str(uuid.uuid4())
    request = req.to_dict()
    if claims:
        request["id_token_hint_claims"] = claims
    await engine.repo.insert_flow(
        flow_id, req.client.id, request, request_url, req.scope, req.audience, skip,
        session["subject"] if skip else "", session_id, csrf, session["authenticated_at"] if skip else None, issued)
    ttl = int(engine.config.ttl_login_consent_request)
    return Response(location=f"{engine.config.login_url}?{urlencode({'login_challenge': flow_id})}", status=302,
                    cookies=[(csrf_cookie_name(engine, "login", req.client.id), csrf, ttl)])


async def _hint_matches(engine: Engine, req: AuthorizeRequest, hint: str, subject: str) -> bool:
    """Hydra's matchesValueFromSession: the hint names the session's user as they are, as this client sees them
    (pairwise), or as a sign-in of theirs at this client forced them (force_subject_identifier; Hydra's forced
    obfuscated login session, which it looks up by client alone, hydralite by client and user)."""
    if hint in (subject, pairwise.subject_or_none(engine.config, req.client, subject)):
        return True
    return req.client.metadata.get("subject_type") == pairwise.PAIRWISE and \
        await engine.repo.forced_subject_known(subject, req.client.id, hint)


async def _hint_or_error(engine: Engine, req: AuthorizeRequest) -> dict[str, Any]:
    """The id_token_hint's claims, with a subject; invalid_request otherwise (Hydra's getSubjectFromIDTokenHint)."""
    try:
        # Verified with our ID-token keys; an expired hint is fine, as in Hydra.
        claims = await engine.keys.verify(req.id_token_hint, "hydra.openid.id-token", accept_expired=True) \
            if engine.keys else None
        if claims is None:
            raise InvalidRequest("The id_token_hint could not be verified.")
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise InvalidRequest("Failed to validate OpenID Connect request because provided id token from "
                                 "id_token_hint does not have a subject.")
    except OAuthError as exc:
        raise ClientError(exc, req) from exc
    return claims


def _check_csrf(engine: Engine, cookies: dict[str, str], kind: str, client_id: str, expected: str) -> None:
    got = cookies.get(csrf_cookie_name(engine, kind, client_id), "")
    if not hmac.compare_digest(got.encode(), (expected or "").encode()) or not got:
        raise RequestForbidden(f"The {kind} request was not initiated by this browser: the CSRF cookie is missing "
                               "or does not match.")


def _rejection(body: dict[str, Any], status_default: int = 400) -> OAuthError:
    return OAuthError(body.get("error_hint", "") or "", description=body.get("error_description") or "",
                      error=body.get("error") or "request_denied",
                      status_code=int(body.get("status_code") or status_default),
                      debug=body.get("error_debug") or "")


async def _spend(engine: Engine, req: AuthorizeRequest, kind: str, verifier: str, cookies: dict[str, str]) -> Any:
    """Spend a login or consent verifier (one UPDATE) and check it belongs to this browser and client."""
    spend = engine.repo.spend_login_verifier if kind == "login" else engine.repo.spend_consent_verifier
    flow = await spend(verifier) if len(verifier) <= 64 else None
    if flow is None:
        raise ClientError(AccessDenied(f"The {kind} verifier has already been used, has not been granted, or is "
                                       "invalid."), req)
    try:
        if flow["client_id"] != req.client.id:
            raise InvalidClient(f"The client_id does not match the one of the {kind} request.")
        if expired(engine, flow):
            raise RequestUnauthorized(f"The {kind} request has expired, please try again.")
        _check_csrf(engine, cookies, kind, req.client.id, flow[f"{kind}_csrf"])
        answer = flow[kind] or {}
        if flow["status"] == f"{kind}_rejected" or answer.get("error"):
            raise _rejection(answer)
    except OAuthError as exc:
        raise ClientError(exc, req) from exc
    return flow


async def spend_consent(engine: Engine, req: AuthorizeRequest, verifier: str, cookies: dict[str, str]) -> Any:
    """The spent, accepted consent flow, for a grant that ends elsewhere (the device flow: engine/device.py)."""
    return await _spend(engine, req, "consent", verifier, cookies)


async def after_login(engine: Engine, req: AuthorizeRequest, verifier: str, cookies: dict[str, str]
                      ) -> Response:
    flow = await _spend(engine, req, "login", verifier, cookies)
    login = flow["login"] or {}
    out: list[tuple[str, str, int]] = []
    session_id = flow["login_session_id"]
    subject = login.get("subject") or flow["subject"]
    skip = flow["login_skip"]
    authenticated_at = flow["authenticated_at"] if skip else now().replace(microsecond=0)
    try:  # before the login session is confirmed, as in Hydra
        await _validate_prompt(engine, req, flow, subject, authenticated_at)
    except OAuthError as exc:
        if exc.error != LoginRequired.error:
            raise ClientError(exc, req) from exc
        return await _revoke_session(engine, req, exc, cookies)
    if not skip:
        remember_for = int(login.get("remember_for") or 0)
        lifetime = engine.config.ttl_authentication_session
        if remember_for > 0:
            lifetime = min(remember_for, lifetime)
        if login.get("remember"):
            await engine.repo.upsert_login_session(session_id, login["subject"], authenticated_at, True,
                                                   authenticated_at + timedelta(seconds=lifetime))
            out.append((session_cookie_name(engine), engine.cookies.sign(session_id), int(lifetime)))
        else:
            old = engine.cookies.unsign(cookies.get(session_cookie_name(engine)))
            if old:
                await engine.repo.delete_login_session(old)
                out.append((session_cookie_name(engine), "", 0))
    consent_skip = False
    if "consent" not in req.prompt and _consent_may_skip(engine, req):
        remembered = await engine.repo.remembered_consent(subject, req.client.id)
        consent_skip = remembered is not None and set(req.scope) <= set(remembered["granted_scope"]) and \
            set(req.audience) <= set(remembered["granted_audience"])
    if "none" in req.prompt and not consent_skip:
        raise ClientError(ConsentRequired("Prompt 'none' was requested, but no previous consent was found."), req)
    challenge = uuid.uuid4().hex
    csrf = _secrets.token_hex(16)
    started = await engine.repo.start_consent(flow["id"], challenge, csrf, consent_skip, subject, session_id,
                                              authenticated_at)
    if started is None:
        raise ClientError(AccessDenied("The login verifier has already been used."), req)
    ttl = int(engine.config.ttl_login_consent_request)
    out.append((csrf_cookie_name(engine, "consent", req.client.id), csrf, ttl))
    return Response(location=f"{engine.config.consent_url}?{urlencode({'consent_challenge': challenge})}",
                    status=302, cookies=out)


def _go_time(value: datetime) -> str:
    """Go's time.Time String() of a UTC time, as fosite prints it into its prompt hints."""
    value = value.astimezone(UTC)
    fraction = f".{value.microsecond:06d}".rstrip("0") if value.microsecond else ""
    return f"{value:%Y-%m-%d %H:%M:%S}{fraction} +0000 UTC"


async def _validate_prompt(engine: Engine, req: AuthorizeRequest, flow: Any, subject: str,
                           auth_time: datetime) -> None:
    """fosite's OpenIDConnectRequestValidator.ValidatePrompt (handler/openid/validator.go) as Hydra's
    verifyAuthentication runs it once the login verifier is back: the session's `sub` is the one this client
    sees (seen_subject: pairwise, or the identifier forced at accept), so an id_token_hint naming someone other
    than the user who just logged in is refused. (Unknown or combined prompt values were refused when the request
    was validated; fosite's server_error checks on an empty subject or a future auth_time cannot fire, hydralite
    sets both itself.) Unlike Hydra, the client's `sub` is only worked out here when a hint needs it, so a
    pairwise client that cannot get one still fails at the consent verifier (tests/e2e/test_pairwise.py)."""
    if req.client.is_public and "none" in req.prompt and not is_secure(req.redirect_uri, engine.config.dev):
        raise ConsentRequired('OAuth 2.0 Client is marked public and redirect uri is not considered secure '
                              '(https missing), but "prompt=none" was requested.')
    requested_at = flow["requested_at"].replace(microsecond=0)  # Hydra keeps RequestedAt to the second
    if req.max_age and auth_time + timedelta(seconds=req.max_age) < requested_at:
        raise LoginRequired(debug="Failed to validate OpenID Connect request because authentication time does not "
                                  "satisfy max_age time.")
    if "none" in req.prompt and auth_time > requested_at:
        raise LoginRequired(f"Failed to validate OpenID Connect request because prompt was set to 'none' but "
                            f"auth_time ('{_go_time(auth_time)}') happened after the authorization request "
                            f"('{_go_time(requested_at)}') was registered, indicating that the user was logged in "
                            "during this request which is not allowed.")
    if "login" in req.prompt and auth_time < requested_at:
        raise LoginRequired(f"Failed to validate OpenID Connect request because prompt was set to 'login' but "
                            f"auth_time ('{_go_time(auth_time)}') happened before the authorization request "
                            f"('{_go_time(requested_at)}') was registered, indicating that the user was not "
                            "re-authenticated which is forbidden.")
    if not req.id_token_hint:
        return
    # start_login verified the hint and kept its claims with the flow (a flow stored without them: verify again).
    claims = flow["request"].get("id_token_hint_claims") or await _hint_or_error(engine, req)
    if claims["sub"] != seen_subject(engine, req.client, flow, subject):
        raise LoginRequired("Failed to validate OpenID Connect request because the subject from provided id token "
                            "from id_token_hint does not match the current session's subject.")


async def _revoke_session(engine: Engine, req: AuthorizeRequest, exc: OAuthError, cookies: dict[str, str]
                          ) -> Response:
    """Hydra on a login_required from ValidatePrompt: "something went wrong with checking the subject id - let's
    destroy the session to be safe" (revokeAuthenticationSession: the session cookie is cleared and the login
    session it names deleted; the login just accepted is never confirmed), then the error goes to the client."""
    old = engine.cookies.unsign(cookies.get(session_cookie_name(engine)))
    if old:
        await engine.repo.delete_login_session(old)
    response = error_response(engine, ClientError(exc, req))
    response.cookies.append((session_cookie_name(engine), "", 0))
    return response


def _consent_may_skip(engine: Engine, req: AuthorizeRequest) -> bool:
    if req.response_type == DEVICE:  # Hydra: the user must always explicitly authorize a device
        return False
    # Hydra: a public client redirecting to neither https nor http on localhost never skips consent
    # (anyone can claim a custom scheme or a remote http address).
    if not req.client.is_public:
        return True
    scheme = req.redirect_uri.split(":", 1)[0]
    return scheme == "https" or (scheme == "http" and is_secure(req.redirect_uri, dev=False))


async def after_consent(engine: Engine, req: AuthorizeRequest, verifier: str, cookies: dict[str, str]
                        ) -> Response:
    flow = await _spend(engine, req, "consent", verifier, cookies)
    if not is_secure(req.redirect_uri, engine.config.dev):
        raise ClientError(InvalidRequest("Redirect URL is using an insecure protocol, http is only allowed for "
                                         "hosts with suffix 'localhost', for example: http://myapp.localhost/."), req)
    try:  # the `sub` this client sees (pairwise, OIDC Core §8), fixed now as Hydra fixes it in the session
        seen = seen_subject(engine, req.client, flow)
    except OAuthError as exc:
        raise ClientError(exc, req) from exc
    if req.response_type != "code":  # implicit and hybrid (OIDC Core §3.2, §3.3): engine/response_types.py
        data = session_data(req, flow, seen)
        code = await store_code(engine, req, flow, data) if "code" in req.response_type.split() else None
        try:
            values = await response_types.issue(engine, req, flow, data, code)
        except OAuthError as exc:
            raise ClientError(exc, req) from exc
        return respond({"redirect_uri": req.redirect_uri, "response_mode": req.response_mode}, values)
    return await issue_code(engine, req, flow, seen)


def seen_subject(engine: Engine, client: Client, flow: Any, subject: str = "") -> str:
    """The `sub` this client sees for the flow: Hydra's ObfuscateSubjectIdentifier(client, flow.Subject,
    flow.ForceSubjectIdentifier), the identifier forced at login accept winning for a pairwise client.
    `subject` stands in for flow.Subject before the consent step has stored it (the login verifier)."""
    forced = (flow["login"] or {}).get("force_subject_identifier") or ""
    return pairwise.subject_for(engine.config, client, subject or flow["subject"], forced)


async def issue_code(engine: Engine, req: AuthorizeRequest, flow: Any, seen: str = "") -> Response:
    token = await store_code(engine, req, flow, session_data(req, flow, seen))
    values = {"code": token, "scope": " ".join(flow["granted_scope"]), "state": req.state,
              "iss": engine.config.issuer}
    return respond({"redirect_uri": req.redirect_uri, "response_mode": req.response_mode}, values)


def session_data(req: AuthorizeRequest, flow: Any, seen: str = "") -> dict[str, Any]:
    """What the tokens of this grant carry from login and consent (sealed on the code and tokens); `seen` is
    the client's pairwise subject, kept as `obfuscated_subject` when it differs from the real one."""
    consent = flow["consent"] or {}
    login = flow["login"] or {}
    session = consent.get("session") or {}
    issued = now()
    data: dict[str, Any] = {
        "access_token": session.get("access_token") or {},
        "id_token": session.get("id_token") or {},
        "auth_time": int(flow["authenticated_at"].timestamp()) if flow["authenticated_at"] else int(issued.timestamp()),
        "rat": int(flow["requested_at"].timestamp()),
        "acr": login.get("acr") or "",
        "amr": login.get("amr") or [],
        "sid": flow["login_session_id"] or "",
        "nonce": req.nonce,
    }
    if seen and seen != flow["subject"]:
        data["obfuscated_subject"] = seen
    return data


async def store_code(engine: Engine, req: AuthorizeRequest, flow: Any, data: dict[str, Any]) -> str:
    """Store a new authorization code for the flow; returns the code."""
    issued = now()
    token, signature = engine.codec.generate(CODE)
    await engine.repo.insert_auth_code(
        signature, flow["id"], req.client.id, flow["subject"], list(flow["granted_scope"]),
        list(flow["granted_audience"]), req.redirect_uri if req.redirect_uri_sent else "", req.code_challenge,
        engine.seal(data), issued, issued + timedelta(seconds=engine.config.ttl_auth_code))
    return token

