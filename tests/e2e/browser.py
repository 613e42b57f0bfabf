"""Drive the browser part of the authorization code flow over real sockets: follow hydralite's
redirects with a cookie jar and answer the login and consent steps through the admin API,
exactly as a login/consent app would."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


def query(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    return {k: v[0] for k, v in parse_qs(parts.query or parts.fragment).items()}


@dataclass
class Browser:
    public_url: str
    admin: httpx.AsyncClient
    http: httpx.AsyncClient = field(default_factory=lambda: httpx.AsyncClient(timeout=30))

    async def get(self, url: str) -> httpx.Response:
        return await self.http.get(url, follow_redirects=False)

    def auth_url(self, client: dict, redirect_uri: str, scope: str, **extra: str) -> str:
        params = {"client_id": client["client_id"], "response_type": "code", "redirect_uri": redirect_uri,
                  "scope": scope, "state": secrets.token_urlsafe(12), **extra}
        return f"{self.public_url}/oauth2/auth?{urlencode(params)}"

    async def start(self, url: str) -> httpx.Response:
        response = await self.get(url)
        assert response.status_code in (302, 303), response.text
        return response

    async def login(self, response: httpx.Response, subject: str = "foo@bar.com", remember: bool = False,
                    reject: bool = False, **body) -> httpx.Response:
        """Answer the login step the redirect points at; returns hydralite's next response."""
        challenge = query(response.headers["location"])["login_challenge"]
        request = await self.admin.get("/admin/oauth2/auth/requests/login", params={"login_challenge": challenge})
        assert request.status_code == 200, request.text
        if reject:
            answer = await self.admin.put("/admin/oauth2/auth/requests/login/reject",
                                          params={"login_challenge": challenge},
                                          json={"error": "access_denied",
                                                "error_description": "The resource owner denied the request"})
        else:
            subject = request.json()["subject"] if request.json()["skip"] else subject
            answer = await self.admin.put("/admin/oauth2/auth/requests/login/accept",
                                          params={"login_challenge": challenge},
                                          json={"subject": subject, "remember": remember, **body})
        assert answer.status_code == 200, answer.text
        return await self.get(answer.json()["redirect_to"])

    async def consent(self, response: httpx.Response, remember: bool = False, reject: bool = False,
                      session: dict | None = None) -> httpx.Response:
        challenge = query(response.headers["location"])["consent_challenge"]
        request = await self.admin.get("/admin/oauth2/auth/requests/consent", params={"consent_challenge": challenge})
        assert request.status_code == 200, request.text
        data = request.json()
        if reject:
            answer = await self.admin.put("/admin/oauth2/auth/requests/consent/reject",
                                          params={"consent_challenge": challenge}, json={"error": "access_denied"})
        else:
            answer = await self.admin.put(
                "/admin/oauth2/auth/requests/consent/accept", params={"consent_challenge": challenge},
                json={"grant_scope": data["requested_scope"],
                      "grant_access_token_audience": data["requested_access_token_audience"],
                      "remember": remember, "session": session or {}})
        assert answer.status_code == 200, answer.text
        return await self.get(answer.json()["redirect_to"])

    async def code(self, client: dict, redirect_uri: str, scope: str, **extra: str) -> tuple[str, dict]:
        """Run the whole browser part; return (code, callback parameters)."""
        first = await self.start(self.auth_url(client, redirect_uri, scope, **extra))
        second = await self.login(first)
        third = await self.consent(second)
        assert third.status_code == 303, third.text
        params = query(third.headers["location"])
        return params["code"], params

    async def close(self) -> None:
        await self.http.aclose()
