"""OpenID Connect RP- and OP-initiated logout (REFERENCE.md §6c), with front- and back-channel logout.

Logout requests are stored as Hydra v25 stores them (migration 0008): the challenge and the verifier are random
UUIDs, a rejected request is gone for GET (404), a spent verifier makes GET answer 410; ending a session is
idempotent. The request that actually deletes the login session (one statement) tells the clients that took part
in it: back-channel in the background (engine/backchannel.py), front-channel through the iframes of the page it
answers with.
"""

from __future__ import annotations

import html
import json
import logging
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from hydralite.engine import backchannel
from hydralite.engine.authorize import Response
from hydralite.engine.clients import rfc3339
from hydralite.engine.core import Engine
from hydralite.engine.flows import current_session, session_cookie_name
from hydralite.engine.forms import Form, single
from hydralite.errors import APIError, InvalidRequest, OAuthError, RequestUnauthorized, ResourceNotFound, not_found
from hydralite.models import Client

ID_TOKEN_SET = "hydra.openid.id-token"
log = logging.getLogger("hydralite.logout")


def frontchannel_urls(engine: Engine, clients: Sequence[Client], sid: str) -> list[str]:
    """Each client's frontchannel_logout_uri with `iss` and `sid` set (always, as Hydra; other query
    parameters kept, keys sorted as Go's url.Values.Encode writes them)."""
    urls = []
    for client in clients:
        uri = client.metadata.get("frontchannel_logout_uri") or ""
        if not uri:
            continue
        parts = urlsplit(uri)
        query: dict[str, list[str]] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            query.setdefault(key, []).append(value)
        query["iss"], query["sid"] = [engine.config.issuer], [sid]
        encoded = urlencode([(k, v) for k in sorted(query) for v in query[k]])
        urls.append(urlunsplit((parts.scheme, parts.netloc, parts.path, encoded, parts.fragment)))
    return urls


def _js_string(value: str) -> str:
    """A JavaScript string literal that cannot end the <script> element."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def frontchannel_page(redirect: str, urls: Sequence[str]) -> str:
    """Hydra's logout page: hidden iframes to every front-channel logout URL, then on to `redirect` once they
    loaded (or after 7 s at the latest; a link after 2 s and without JavaScript)."""
    target = html.escape(redirect, quote=True)
    frames = "".join(f'<iframe src="{html.escape(u, quote=True)}" onload="done()"></iframe>\n' for u in urls)
    return f"""<!DOCTYPE html>
<html>
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="7; URL={target}">
<title>Logging out</title>
<style>iframe {{ position: absolute; left: 0; top: 0; height: 0; width: 0; border: none; }}</style>
<script>
var total = {len(urls)};
var redir = {_js_string(redirect)};
var timers = [];
var leaving = false;
window.onbeforeunload = function () {{ leaving = true; timers.forEach(clearTimeout); timers = []; }};
function later(fn, ms) {{ if (!leaving) {{ timers.push(setTimeout(fn, ms)); }} }}
function redirect() {{ window.location.replace(redir); later(function () {{ window.location.href = redir; }}, 250); }}
function done() {{ total--; if (total < 1) {{ later(redirect, 500); }} }}
later(redirect, 7000);
setTimeout(function () {{ document.getElementById("redir").style.display = "block"; }}, 2000);
</script>
</head>
<body>
<noscript><p>JavaScript is disabled - you should be redirected in 5 seconds but if not, click
<a href="{target}">here</a> to continue.</p></noscript>
<p id="redir" style="display: none">Redirection takes unusually long. If you are not being redirected within the
next seconds, click <a href="{target}">here</a> to continue.</p>
{frames}</body>
</html>
"""


async def end_session(engine: Engine, sid: str) -> list[Client]:
    """Delete the login session `sid`; if this call deleted it, start the back-channel logout of the clients that
    took part and return them (for the front-channel); else (already gone) return nothing, so nobody is told
    twice. Used by the logout flow and by the admin DELETE /admin/oauth2/auth/sessions/login?sid=."""
    subject = await engine.repo.end_login_session(sid) if sid else None
    if subject is None:
        return []
    try:
        clients = await engine.repo.logout_clients(sid, subject)
    except OAuthError as exc:  # the session is gone either way: the user is logged out, the RPs are not told
        log.error("Unable to list the clients of the ended login session %s: %s", sid, exc)
        return []
    backchannel.notify(engine, clients, sid, subject)
    return clients


def _malformed(value: str) -> bool:
    """A value no stored challenge or verifier can equal (UUIDs): answered as unknown without asking PostgreSQL,
    which would refuse a NUL byte rather than find nothing."""
    return not value or len(value) > 64 or "\x00" in value


def _expired() -> OAuthError:
    """Hydra's flow.ErrorLogoutFlowExpired."""
    return RequestUnauthorized("The logout request has expired, please try the flow again.")


class Logout:
    """Hydra v25's logout flow. Its requests are stored (hydralite_logout_request): the challenge and the verifier
    are random UUIDs as Hydra's, accept and reject flip Hydra's flags, spending the verifier marks it used."""

    def __init__(self, engine: Engine):
        self.engine = engine

    def _done(self, data: dict[str, Any] | None) -> str:
        if data and data.get("post_logout_redirect_uri"):
            uri = data["post_logout_redirect_uri"]
            if data.get("state"):
                uri = f"{uri}{'&' if '?' in uri else '?'}{urlencode({'state': data['state']})}"
            return uri
        return self.engine.config.post_logout_redirect_url

    async def start(self, params: Form, cookies: dict[str, str], request_url: str) -> Response:
        """Raises InvalidRequest for what must show an error page (never a redirect to an unvetted URI)."""
        verifier = single(params, "logout_verifier")
        if verifier:
            return await self._finish(verifier, cookies)
        hint, redirect, state = (single(params, n) for n in ("id_token_hint", "post_logout_redirect_uri", "state"))
        session = await current_session(self.engine, cookies)
        data: dict[str, Any] = {}
        if not hint:
            if redirect or state:
                raise InvalidRequest("Logout failed because query parameters state or post_logout_redirect_uri "
                                     "were set without an id_token_hint.")
            if session is None:
                return Response(location=self._done(None), status=302)
            data.update(subject=session["subject"], sid=session["id"], rp_initiated=False, client_id=None)
        else:
            claims = await self.engine.keys.verify(hint, ID_TOKEN_SET, accept_expired=True)
            if not claims or claims.get("iss") != self.engine.config.issuer or not claims.get("sub"):
                raise InvalidRequest("The id_token_hint is invalid.")
            if claims.get("iat", 0) > time.time() + 60:
                raise InvalidRequest("The id_token_hint was issued in the future.")
            audience = claims.get("aud")
            client = None
            for aud in [audience] if isinstance(audience, str) else audience or []:
                client = await self.engine.repo.get_client(aud)
                if client:
                    break
            if client is None:
                raise InvalidRequest("The id_token_hint's audience is not a registered client.")
            if redirect and redirect not in (client.metadata.get("post_logout_redirect_uris") or []):
                raise InvalidRequest("The post_logout_redirect_uri is not registered for this client.")
            data.update(subject=claims["sub"], sid=claims.get("sid", ""), rp_initiated=True, client_id=client.id,
                        post_logout_redirect_uri=redirect, state=state)
            hinted = await self.engine.repo.get_login_session(claims["sid"]) if claims.get("sid") else None
            if hinted is None:
                return Response(location=self._done(data), status=302)
            data["subject"] = hinted["subject"]  # Hydra: the session's subject (the hint's may be pairwise)
        # Hydra: RequestedAt rounded to the second, ExpiresAt = RequestedAt + ttl.login_consent_request (Hydra v25
        # leaves both unset for an RP-initiated request, whose verifier then never expires; hydralite sets them).
        requested_at = datetime.fromtimestamp(round(time.time()), UTC)
        expires_at = requested_at + timedelta(seconds=self.engine.config.ttl_login_consent_request)
        challenge = str(uuid.uuid4())
        await self.engine.repo.insert_logout_request(
            challenge, str(uuid.uuid4()), data["subject"], data["sid"], data["client_id"], request_url,
            self._done(data), data["rp_initiated"], requested_at, expires_at)
        return Response(location=f"{self.engine.config.logout_url}?{urlencode({'logout_challenge': challenge})}",
                        status=302)

    async def _finish(self, verifier: str, cookies: dict[str, str]) -> Response:
        """Hydra's completeLogout: the errors (unknown verifier, expired request) go to the error page."""
        row = None if _malformed(verifier) else await self.engine.repo.use_logout_verifier(verifier)
        if row is None:
            raise ResourceNotFound()
        if row["expires_at"] <= datetime.now(UTC):
            raise _expired()
        out: list[tuple[str, str, int]] = []
        session = await current_session(self.engine, cookies)
        clients: list[Client] = []
        sid = row["sid"]
        if sid and (row["rp_initiated"] or (session and session["id"] == sid)):
            clients = await end_session(self.engine, sid)
        if session and session["id"] == sid:
            out.append((session_cookie_name(self.engine), "", 0))
        redirect = row["redir_url"]
        urls = frontchannel_urls(self.engine, clients, sid)
        if urls:  # OIDC Front-Channel Logout 1.0 §4: the OP renders the RPs' logout URIs in iframes
            return Response(location=redirect, status=200, body=frontchannel_page(redirect, urls), cookies=out)
        return Response(location=redirect, status=302, cookies=out)

    async def request(self, challenge: str) -> dict[str, Any]:
        """Hydra v25's getOAuth2LogoutRequest: unknown or rejected → 404 (its SQL no-rows error), verifier already
        spent → 410 {redirect_to: request_url}; accepted but unspent still reads 200. The `client` key is left to the
        caller (client_id). An expired request is 401, as hydralite's login and consent requests."""
        row = None if _malformed(challenge) else await self.engine.repo.get_logout_request(challenge)
        if row is None:
            raise not_found()
        if row["was_used"]:
            raise APIError(410, "Gone", "The request has already been handled.",
                           body={"redirect_to": row["request_url"]})
        if row["expires_at"] <= datetime.now(UTC):
            raise _expired()
        out: dict[str, Any] = {"challenge": row["challenge"], "subject": row["subject"]}
        if row["sid"]:
            out["sid"] = row["sid"]  # Hydra: `json:"sid,omitempty"`
        out.update(request_url=row["request_url"], rp_initiated=row["rp_initiated"],
                   expires_at=rfc3339(row["expires_at"]), requested_at=rfc3339(row["requested_at"]),
                   client_id=row["client_id"])
        return out

    async def accept(self, challenge: str) -> str:
        """Hydra v25's acceptOAuth2LogoutRequest: pending, accepted (again: the same verifier), spent or rejected
        (accept revives it) → 200 redirect_to; unknown → 404 (the SQL no-rows error of its GetLogoutRequest)."""
        row = None if _malformed(challenge) else await self.engine.repo.accept_logout_request(
            challenge, datetime.now(UTC))
        if row is None:
            raise not_found()
        if row["expired"]:
            raise _expired()
        return (f"{self.engine.config.public_url}/oauth2/sessions/logout?"
                f"{urlencode({'logout_verifier': row['verifier']})}")

    async def reject(self, challenge: str) -> None:
        """Hydra v25's rejectOAuth2LogoutRequest: any known request → 204 (again too); unknown → 404 x.ErrNotFound."""
        row = None if _malformed(challenge) else await self.engine.repo.reject_logout_request(
            challenge, datetime.now(UTC))
        if row is None:
            raise ResourceNotFound()
        if row["expired"]:
            raise _expired()
