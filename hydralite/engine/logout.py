"""OpenID Connect RP- and OP-initiated logout (REFERENCE.md §6c).

Logout challenges and verifiers are stateless: AES-GCM sealed with a purpose label, so a
challenge can never be used as a verifier; ending a session is idempotent.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

import orjson

from hydralite.crypto.sealing import Sealer
from hydralite.engine.authorize import Response
from hydralite.engine.core import Engine
from hydralite.engine.flows import current_session, session_cookie_name
from hydralite.engine.forms import Form, single
from hydralite.errors import InvalidRequest

ID_TOKEN_SET = "hydra.openid.id-token"


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
            if not claims.get("sid") or await self.engine.repo.get_login_session(claims["sid"]) is None:
                return Response(location=self._done(data), status=302)
        challenge = self.challenges.seal(orjson.dumps(data))
        return Response(location=f"{self.engine.config.logout_url}?{urlencode({'logout_challenge': challenge})}",
                        status=302)

    async def _finish(self, verifier: str, cookies: dict[str, str]) -> Response:
        data = self._open(self.verifiers, verifier)
        if data is None:
            raise InvalidRequest("The logout verifier is invalid or has expired.")
        out: list[tuple[str, str, int]] = []
        session = await current_session(self.engine, cookies)
        if data.get("sid") and (data.get("rp_initiated") or (session and session["id"] == data["sid"])):
            await self.engine.repo.delete_login_session(data["sid"])
        if session and session["id"] == data.get("sid"):
            out.append((session_cookie_name(self.engine), "", 0))
        return Response(location=self._done(data), status=302, cookies=out)

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
