"""`Hydralite`: a small client of a test server's admin and public APIs, with the steps tests repeat.

Sync (httpx.Client) so it works in plain tests; `AsyncHydralite` runs the same steps off the event loop.
Clients it creates are named with a per-test prefix and deleted when the test ends.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote_plus, urlencode, urljoin, urlsplit

import httpx

if TYPE_CHECKING:
    from hydralite.testing.server import HydraliteServer

#: Where sign_in's authorization response is sent; nothing listens there, the redirect is read, not followed.
DEFAULT_REDIRECT_URI = "http://127.0.0.1:5555/callback"
DEFAULT_SCOPE = "openid offline_access api read write"
MAX_HOPS = 12


class HydraliteError(AssertionError):
    """An API call answered unexpectedly; the message carries the status and body (an assertion in a test)."""


def _expect(response: httpx.Response, *statuses: int) -> httpx.Response:
    if response.status_code not in statuses:
        raise HydraliteError(f"{response.request.method} {response.request.url} answered {response.status_code}: "
                             f"{response.text[:2000]}")
    return response


def _params(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    return {k: v[0] for k, v in parse_qs(parts.query or parts.fragment, keep_blank_values=True).items()}


def _scope(value: str | Iterable[str] | None) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else " ".join(value)


def pkce_pair() -> tuple[str, str]:
    """A PKCE verifier and its S256 challenge (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class Hydralite:
    """Admin and public API helpers bound to one server; `close()` deletes the clients it created."""

    def __init__(self, server: HydraliteServer, name_prefix: str = "", timeout: float = 30.0):
        self.server = server
        self.prefix = name_prefix
        self.admin = httpx.Client(base_url=server.admin_url, timeout=timeout, trust_env=False)
        self.public = httpx.Client(base_url=server.public_url, timeout=timeout, trust_env=False)
        #: The browser of sign_in: a cookie jar kept for the test, so a remembered login is reused.
        self.browser = httpx.Client(timeout=timeout, trust_env=False, follow_redirects=False)
        self.created: dict[str, dict[str, Any]] = {}

    @property
    def public_url(self) -> str:
        return self.server.public_url

    @property
    def admin_url(self) -> str:
        return self.server.admin_url

    @property
    def issuer(self) -> str:
        return self.server.issuer

    # Clients ---------------------------------------------------------------------------------------------------

    def create_client(self, **fields: Any) -> dict[str, Any]:
        """POST /admin/clients with test-friendly defaults; returns the client JSON, secret included."""
        fields["client_name"] = self.prefix + str(fields.get("client_name") or "client")
        if fields.get("token_endpoint_auth_method") != "none":
            fields.setdefault("client_secret", secrets.token_urlsafe(24))
        fields.setdefault("grant_types", ["client_credentials", "authorization_code", "refresh_token"])
        fields.setdefault("response_types", ["code"])
        fields.setdefault("redirect_uris", [DEFAULT_REDIRECT_URI])
        fields.setdefault("scope", DEFAULT_SCOPE)
        client: dict[str, Any] = _expect(self.admin.post("/admin/clients", json=fields), 201).json()
        if "client_secret" in fields:
            client.setdefault("client_secret", fields["client_secret"])
        self.created[client["client_id"]] = client
        return client

    def delete_client(self, client: Mapping[str, Any] | str) -> None:
        client_id = client if isinstance(client, str) else client["client_id"]
        _expect(self.admin.delete(f"/admin/clients/{quote_plus(client_id)}"), 204, 404)
        self.created.pop(client_id, None)

    # Tokens ----------------------------------------------------------------------------------------------------

    def _authenticate(self, client: Mapping[str, Any], form: dict[str, str]) -> dict[str, str]:
        """Client authentication as the client registered it (RFC 6749 §2.3.1: form-encode before base64)."""
        method = client.get("token_endpoint_auth_method") or "client_secret_basic"
        if method == "none" or not client.get("client_secret"):
            form["client_id"] = client["client_id"]
            return {}
        if method == "client_secret_post":
            form.update(client_id=client["client_id"], client_secret=client["client_secret"])
            return {}
        raw = f"{quote_plus(client['client_id'])}:{quote_plus(client['client_secret'])}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    def token(self, client: Mapping[str, Any], **form: str) -> dict[str, Any]:
        """POST /oauth2/token as `client`; returns the token response."""
        body = {k: v for k, v in form.items() if v is not None}
        headers = self._authenticate(client, body)
        result: dict[str, Any] = _expect(self.public.post("/oauth2/token", data=body, headers=headers), 200).json()
        return result

    def client_credentials_token(self, client: Mapping[str, Any], scope: str | Iterable[str] | None = None,
                                 audience: str | Iterable[str] | None = None) -> dict[str, Any]:
        """The client_credentials grant; returns the token response (access_token, expires_in, scope…)."""
        form = {"grant_type": "client_credentials"}
        if (scopes := _scope(scope)) is not None:
            form["scope"] = scopes
        if (audiences := _scope(audience)) is not None:
            form["audience"] = audiences
        return self.token(client, **form)

    def refresh(self, client: Mapping[str, Any], refresh_token: str) -> dict[str, Any]:
        return self.token(client, grant_type="refresh_token", refresh_token=refresh_token)

    def introspect(self, token: str, scope: str | Iterable[str] | None = None) -> dict[str, Any]:
        """POST /admin/oauth2/introspect; returns the RFC 7662 answer."""
        form = {"token": token}
        if (scopes := _scope(scope)) is not None:
            form["scope"] = scopes
        result: dict[str, Any] = _expect(self.admin.post("/admin/oauth2/introspect", data=form), 200).json()
        return result

    def revoke(self, token: str | None = None, *, client: Mapping[str, Any] | None = None) -> None:
        """Revoke one token (RFC 7009, as its client) or, with only `client`, every token of that client."""
        if token is None:
            if client is None:
                raise ValueError("revoke() needs a token, a client, or both")
            _expect(self.admin.delete("/admin/oauth2/tokens", params={"client_id": client["client_id"]}), 204)
            return
        if client is None:
            owner = self.introspect(token).get("client_id")
            client = self.created.get(str(owner))
            if client is None:
                raise ValueError("revoke(token) without client= works for tokens of clients this fixture created")
        form = {"token": token}
        headers = self._authenticate(client, form)
        _expect(self.public.post("/oauth2/revoke", data=form, headers=headers), 200)

    # Browser flow ----------------------------------------------------------------------------------------------

    def sign_in(self, client: Mapping[str, Any], subject: str = "foo@bar.com",
                scopes: str | Iterable[str] | None = None, *, audience: str | Iterable[str] | None = None,
                redirect_uri: str | None = None, exchange: bool = True, remember: bool = False,
                session: Mapping[str, Any] | None = None, **extra: str) -> dict[str, Any]:
        """Run the authorization code flow with PKCE, accepting login and consent as `subject` through the admin
        API (no browser, no login UI). Returns the token response, or with exchange=False the callback
        parameters plus `code_verifier` and `redirect_uri`. `scopes` defaults to the client's scope."""
        redirect_uri = redirect_uri or client["redirect_uris"][0]
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(16)
        params = {"client_id": client["client_id"], "response_type": "code", "redirect_uri": redirect_uri,
                  "scope": _scope(scopes) or client.get("scope") or "openid", "state": state,
                  "nonce": secrets.token_urlsafe(16), "code_challenge": challenge, "code_challenge_method": "S256",
                  **extra}
        if (audiences := _scope(audience)) is not None:
            params["audience"] = audiences
        location = f"{self.server.public_url}/oauth2/auth?{urlencode(params)}"
        for _ in range(MAX_HOPS):
            if location.split("?", 1)[0].split("#", 1)[0] == redirect_uri:
                callback = _params(location)
                if "error" in callback:
                    raise HydraliteError(f"sign-in refused: {callback['error']}: {callback.get('error_description')}")
                if callback.get("state") != state:
                    raise HydraliteError(f"sign-in returned state {callback.get('state')!r}, not the one sent")
                if not exchange:
                    return {**callback, "code_verifier": verifier, "redirect_uri": redirect_uri}
                return self.token(client, grant_type="authorization_code", code=callback["code"],
                                  redirect_uri=redirect_uri, code_verifier=verifier)
            query = _params(location)
            if "login_challenge" in query:
                location = self._accept_login(query["login_challenge"], subject, remember)
            elif "consent_challenge" in query:
                location = self._accept_consent(query["consent_challenge"], remember, session)
            else:  # hydralite's own step: follow it with the browser's cookies
                response = self.browser.get(location)
                if response.status_code not in (302, 303):
                    raise HydraliteError(f"sign-in stopped at {location}: {response.status_code} "
                                         f"{response.text[:2000]}")
                location = urljoin(location, response.headers["location"])
        raise HydraliteError(f"sign-in did not reach {redirect_uri} within {MAX_HOPS} redirects (last: {location})")

    def _accept_login(self, challenge: str, subject: str, remember: bool) -> str:
        query = {"login_challenge": challenge}
        request = _expect(self.admin.get("/admin/oauth2/auth/requests/login", params=query), 200).json()
        subject = request["subject"] if request.get("skip") else subject  # Hydra: a skipped login keeps its subject
        answer = self.admin.put("/admin/oauth2/auth/requests/login/accept", params=query,
                                json={"subject": subject, "remember": remember})
        return str(_expect(answer, 200).json()["redirect_to"])

    def _accept_consent(self, challenge: str, remember: bool, session: Mapping[str, Any] | None) -> str:
        query = {"consent_challenge": challenge}
        request = _expect(self.admin.get("/admin/oauth2/auth/requests/consent", params=query), 200).json()
        body = {"grant_scope": request.get("requested_scope") or [],
                "grant_access_token_audience": request.get("requested_access_token_audience") or [],
                "remember": remember, "session": dict(session or {})}
        answer = self.admin.put("/admin/oauth2/auth/requests/consent/accept", params=query, json=body)
        return str(_expect(answer, 200).json()["redirect_to"])

    # Isolation -------------------------------------------------------------------------------------------------

    def reset(self) -> list[str]:
        """Empty every table but the migrations and key sets (all clients, tokens, sessions); return their names."""
        self.created.clear()
        return self.server.reset()

    def close(self) -> None:
        """Delete the clients this object created (their tokens go with them) and close the connections."""
        try:
            for client_id in list(self.created):
                self.delete_client(client_id)
        finally:
            for http in (self.admin, self.public, self.browser):
                http.close()


class AsyncHydralite:
    """The same steps for async tests: each runs in a worker thread, so the event loop keeps serving."""

    def __init__(self, sync: Hydralite):
        self.sync = sync

    @property
    def public_url(self) -> str:
        return self.sync.public_url

    @property
    def admin_url(self) -> str:
        return self.sync.admin_url

    @property
    def issuer(self) -> str:
        return self.sync.issuer

    async def create_client(self, **fields: Any) -> dict[str, Any]:
        return await asyncio.to_thread(lambda: self.sync.create_client(**fields))

    async def delete_client(self, client: Mapping[str, Any] | str) -> None:
        await asyncio.to_thread(self.sync.delete_client, client)

    async def token(self, client: Mapping[str, Any], **form: str) -> dict[str, Any]:
        return await asyncio.to_thread(lambda: self.sync.token(client, **form))

    async def client_credentials_token(self, client: Mapping[str, Any], scope: str | Iterable[str] | None = None,
                                       audience: str | Iterable[str] | None = None) -> dict[str, Any]:
        return await asyncio.to_thread(self.sync.client_credentials_token, client, scope, audience)

    async def refresh(self, client: Mapping[str, Any], refresh_token: str) -> dict[str, Any]:
        return await asyncio.to_thread(self.sync.refresh, client, refresh_token)

    async def introspect(self, token: str, scope: str | Iterable[str] | None = None) -> dict[str, Any]:
        return await asyncio.to_thread(self.sync.introspect, token, scope)

    async def revoke(self, token: str | None = None, *, client: Mapping[str, Any] | None = None) -> None:
        await asyncio.to_thread(lambda: self.sync.revoke(token, client=client))

    async def sign_in(self, client: Mapping[str, Any], subject: str = "foo@bar.com",
                      scopes: str | Iterable[str] | None = None, **options: Any) -> dict[str, Any]:
        return await asyncio.to_thread(lambda: self.sync.sign_in(client, subject, scopes, **options))

    async def reset(self) -> list[str]:
        return await asyncio.to_thread(self.sync.reset)
