"""The few admin-API calls a login/consent/logout app makes, over plain HTTP.

Admin errors become `PageError`s that the app renders as pages with a matching status:
404 unknown challenge, 410 already handled (Hydra returns where to start again), 401 expired,
400 malformed, 429 too many wrong device user codes; anything else, or an unreachable admin API, is a 502
(the UI's upstream failed).
"""

from __future__ import annotations

from typing import Any

import httpx

REQUESTS = "/admin/oauth2/auth/requests"


class PageError(Exception):
    """An error the user sees as a page (status, title, message and an optional link)."""

    def __init__(self, status: int, title: str, message: str, link: str = ""):
        super().__init__(message)
        self.status, self.title, self.message, self.link = status, title, message, link


def _web_url(value: Any) -> str:
    """Only ever link or redirect to an http(s) URL handed out by the admin API."""
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) else ""


def _admin_error(kind: str, response: httpx.Response) -> PageError:
    status = response.status_code
    if status == 404:
        return PageError(404, "Unknown request", f"This {kind} request does not exist. "
                         "Start again from the application you were signing in to.")
    if status == 410:
        link = _web_url(_json(response).get("redirect_to"))
        return PageError(410, "Already handled", f"This {kind} request has already been completed.", link)
    if status == 401:
        return PageError(401, "Request expired", f"This {kind} request has expired. "
                         "Start again from the application you were signing in to.")
    if status == 400:
        detail = _json(response).get("error_description") or "The request was malformed."
        return PageError(400, "Bad request", str(detail))
    if status == 429:
        detail = _json(response).get("error_description") or "Too many tries."
        return PageError(429, "Too many tries", str(detail))
    return PageError(502, "Authorization server error", f"The admin API answered with status {status}.")


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


class HydraAdmin:
    """GET, accept and reject login, consent and logout requests; one HTTP client per app."""

    def __init__(self, admin_url: str, timeout: float = 10.0):
        self.http = httpx.AsyncClient(base_url=admin_url.rstrip("/"), timeout=timeout)

    async def close(self) -> None:
        await self.http.aclose()

    async def get(self, kind: str, challenge: str) -> dict[str, Any]:
        return await self._call("GET", kind, f"{REQUESTS}/{kind}", challenge)

    async def accept(self, kind: str, challenge: str, body: dict[str, Any] | None = None) -> str:
        return self.redirect_url(await self._call("PUT", kind, f"{REQUESTS}/{kind}/accept", challenge, body or {}))

    async def reject(self, kind: str, challenge: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return await self._call("PUT", kind, f"{REQUESTS}/{kind}/reject", challenge, body or {})

    @staticmethod
    def redirect_url(answer: dict[str, Any]) -> str:
        url = _web_url(answer.get("redirect_to"))
        if not url:
            raise PageError(502, "Authorization server error", "The admin API did not say where to continue.")
        return url

    async def _call(self, method: str, kind: str, path: str, challenge: str,
                    body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            response = await self.http.request(method, path, params={f"{kind}_challenge": challenge}, json=body)
        except httpx.HTTPError as exc:
            raise PageError(502, "Authorization server unreachable",
                            "The login app could not reach the hydralite admin API.") from exc
        if response.status_code >= 300:
            raise _admin_error(kind, response)
        return _json(response) if response.content else {}
