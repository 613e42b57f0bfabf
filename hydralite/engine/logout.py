"""OpenID Connect RP- and OP-initiated logout (REFERENCE.md §6c), with front- and back-channel logout.

Logout challenges and verifiers are stateless: AES-GCM sealed with a purpose label, so a
challenge can never be used as a verifier; ending a session is idempotent. The request that actually deletes
the login session (one statement) tells the clients that took part in it: back-channel in the background
(engine/backchannel.py), front-channel through the iframes of the page it answers with.
"""

from __future__ import annotations

import html
import json
import logging
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson

from hydralite.crypto.sealing import Sealer
from hydralite.engine import backchannel
from hydralite.engine.authorize import Response
from hydralite.engine.core import Engine
from hydralite.engine.flows import current_session, session_cookie_name
from hydralite.engine.forms import Form, single
from hydralite.errors import InvalidRequest, OAuthError
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


class Logout:
    def __init__(self, engine: Engine):
        self.engine = engine
        secrets = engine.config.secrets_system
        self.challenges = Sealer(secrets, purpose="logout_challenge")
        self.verifiers = Sealer(secrets, purpose="logout_verifier")

    def _open(self, sealer: Sealer, value: str) -> dict[str, Any] | None:
        plain = sealer.open(value) if value else None
        data = orjson.loads(plain) if plain else None
        if not isinstance(data, dict):
            return None
        if data.get("requested_at", 0) + self.engine.config.ttl_login_consent_request < time.time():
            return None
        return data

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
        data: dict[str, Any] = {"requested_at": int(time.time()), "request_url": request_url}
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
        challenge = self.challenges.seal(orjson.dumps(data))
        return Response(location=f"{self.engine.config.logout_url}?{urlencode({'logout_challenge': challenge})}",
                        status=302)

    async def _finish(self, verifier: str, cookies: dict[str, str]) -> Response:
        data = self._open(self.verifiers, verifier)
        if data is None:
            raise InvalidRequest("The logout verifier is invalid or has expired.")
        out: list[tuple[str, str, int]] = []
        session = await current_session(self.engine, cookies)
        clients: list[Client] = []
        sid = data.get("sid") or ""
        if sid and (data.get("rp_initiated") or (session and session["id"] == sid)):
            clients = await end_session(self.engine, sid)
        if session and session["id"] == sid:
            out.append((session_cookie_name(self.engine), "", 0))
        redirect = self._done(data)
        urls = frontchannel_urls(self.engine, clients, sid)
        if urls:  # OIDC Front-Channel Logout 1.0 §4: the OP renders the RPs' logout URIs in iframes
            return Response(location=redirect, status=200, body=frontchannel_page(redirect, urls), cookies=out)
        return Response(location=redirect, status=302, cookies=out)

    def request(self, challenge: str) -> dict[str, Any] | None:
        data = self._open(self.challenges, challenge)
        if data is None:
            return None
        return {"challenge": challenge, "subject": data.get("subject", ""), "sid": data.get("sid", ""),
                "request_url": data.get("request_url", ""), "rp_initiated": bool(data.get("rp_initiated")),
                "client_id": data.get("client_id")}

    def accept(self, challenge: str) -> str | None:
        data = self._open(self.challenges, challenge)
        if data is None:
            return None
        data["requested_at"] = int(time.time())
        verifier = self.verifiers.seal(orjson.dumps(data))
        return f"{self.engine.config.public_url}/oauth2/sessions/logout?{urlencode({'logout_verifier': verifier})}"
