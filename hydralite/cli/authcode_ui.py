"""The pages of `perform authorization-code`: welcome, result, error, and the built-in login and consent UI
that Hydra's CLI serves when `urls.login` and `urls.consent` point at it (with --skip it accepts skippable steps)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from html import escape
from typing import Any

import httpx

#: What the command's consent step puts into the session, as Hydra's CLI does.
SESSION = {"access_token": {"foo": "bar"}, "id_token": {"baz": "bar"}}
REMEMBER_FOR = 3600


@dataclass
class Page:
    """One answer of the callback server: an HTML page, or a redirect when `location` is set."""

    status: int
    body: str = ""
    location: str = ""


def _html(body: str) -> str:
    return f"<html>\n<head></head>\n<body>\n{body}\n</body>\n</html>"


def welcome(auth_url: str) -> Page:
    return Page(200, _html(
        "<h1>Welcome to the example OAuth 2.0 Consumer!</h1>\n"
        "<p>This is an example app which emulates an OAuth 2.0 consumer application. Usually, this would be your "
        "web or mobile application and would use an OAuth 2.0 or OpenID Connect library.</p>\n"
        "<p>This example requests an OAuth 2.0 Access, Refresh, and OpenID Connect ID Token from the OAuth 2.0 "
        'Server. To initiate the flow, click the "Authorize Application" button.</p>\n'
        f'<p><a href="{escape(auth_url)}">Authorize application</a></p>'))


def error(status: int, name: str, description: str = "", hint: str = "", debug: str = "") -> Page:
    parts = [f"<h1>An error occurred</h1>\n<h2>{escape(name)}</h2>"]
    parts += [f"<p>{escape(text)}</p>" for text in (description, hint, debug)]
    return Page(status, _html("\n".join(parts)))


def result(token: dict[str, Any], back_url: str | None) -> Page:
    """The tokens, as Hydra's result page lists them; `back_url` under --no-shutdown, for the next sign-in."""
    expiry = ""
    if token.get("expiry"):  # Go's time.RFC1123, in UTC
        expiry = datetime.fromisoformat(token["expiry"]).strftime("%a, %d %b %Y %H:%M:%S UTC")
    rows = [("Access Token", token.get("access_token")), ("Refresh Token", token.get("refresh_token")),
            ("Expires at", expiry), ("ID Token", token.get("id_token"))]
    items = "\n".join(f"    <li>{name}: <code>{escape(str(value or ''))}</code></li>" for name, value in rows)
    back = f'\n<a href="{escape(back_url)}">Back to Welcome Page</a>' if back_url else ""
    return Page(200, _html(f"<ul>\n{items}\n</ul>{back}"))


class AdminError(Exception):
    """The admin API refused or could not be reached; the page shows why."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class LoginConsentUI:
    """Hydra's built-in login and consent steps, talking to the admin API at `admin_url`."""

    def __init__(self, admin_url: str, skip: bool, verify: bool, headers: dict[str, str], log: Any):
        self.admin_url = admin_url.rstrip("/")
        self.skip = skip
        self.verify = verify
        self.headers = headers
        self.log = log

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            with httpx.Client(base_url=self.admin_url, timeout=30, verify=self.verify, headers=self.headers) as http:
                response = http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise AdminError(500, f"could not reach the admin API at {self.admin_url} ({type(exc).__name__}): "
                                  "set --admin-endpoint") from exc
        if response.status_code >= 300:  # Hydra's CLI answers any failed admin call with a 500 page
            raise AdminError(500, f"{method} {path} failed with {response.status_code}: {response.text[:500]}")
        return response.json() if response.content else None

    def login_get(self, query: dict[str, list[str]]) -> Page:
        challenge = _first(query, "login_challenge")
        req = self._call("GET", "/admin/oauth2/auth/requests/login", params={"login_challenge": challenge})
        if self.skip and req.get("skip"):
            answer = self._call("PUT", "/admin/oauth2/auth/requests/login/accept",
                                params={"login_challenge": req["challenge"]}, json={"subject": req.get("subject")})
            return Page(302, location=answer["redirect_to"])
        note = "<b>user authenticated, could skip login UI.</b>" if req.get("skip") else "User unknown."
        return Page(200, _html(
            '<h1>Login step</h1>\n<form action="/login" method="post">\n'
            f'\t<input type="hidden" name="ls" value="{escape(req["challenge"])}">\n'
            '\t<input type="text" name="username" value="Username" required>\n'
            '\t<input type="checkbox" name="remember" checked>Remember login<br>\n'
            '\t<input type="checkbox" name="revoke-consents">Revoke previous consents<br>\n'
            '\t<button type="submit" name="action" value="accept">Submit</button>\n'
            '\t<button type="submit" name="action" value="deny">Cancel</button>\n</form>\n'
            f"{note}\n<hr>\n<h2>Complete login request</h2>\n<pre>{escape(_pretty(req))}</pre>"))

    def login_post(self, form: dict[str, list[str]]) -> Page:
        challenge, username = _first(form, "ls"), _first(form, "username")
        if _first(form, "revoke-consents") == "on":
            try:
                self._call("DELETE", "/admin/oauth2/auth/sessions/consent", params={"subject": username, "all": "true"})
                self.log("Revoked all previous consents")
            except AdminError as exc:
                self.log(f"Error revoking previous consents: {exc}")
        action = _first(form, "action")
        if action == "accept":
            answer = self._call("PUT", "/admin/oauth2/auth/requests/login/accept",
                                params={"login_challenge": challenge},
                                json={"subject": username, "remember": _first(form, "remember") == "on",
                                      "remember_for": REMEMBER_FOR, "context": {"context from": "login step"}})
        elif action == "deny":
            answer = self._call("PUT", "/admin/oauth2/auth/requests/login/reject",
                                params={"login_challenge": challenge}, json={})
        else:
            return Page(400, "Invalid action")
        return Page(302, location=answer["redirect_to"])

    def consent_get(self, query: dict[str, list[str]]) -> Page:
        challenge = _first(query, "consent_challenge")
        req = self._call("GET", "/admin/oauth2/auth/requests/consent", params={"consent_challenge": challenge})
        scopes = req.get("requested_scope") or []
        audiences = req.get("requested_access_token_audience") or []
        if self.skip and req.get("skip"):
            answer = self._call("PUT", "/admin/oauth2/auth/requests/consent/accept",
                                params={"consent_challenge": req["challenge"]},
                                json={"grant_scope": scopes, "grant_access_token_audience": audiences,
                                      "remember": True, "remember_for": REMEMBER_FOR, "session": SESSION})
            return Page(302, location=answer["redirect_to"])
        previous = self._call("GET", "/admin/oauth2/auth/sessions/consent", params={
            "subject": req.get("subject") or "", "login_session_id": req.get("login_session_id") or ""})
        if audiences:
            listed = "".join(f'<li><input type="hidden" name="audience" value="{escape(a)}">{escape(a)}</li>\n'
                             for a in audiences)
            aud_html = f"<h2>Requested audiences:</h2>\n<ul>\n{listed}</ul>"
        else:
            aud_html = "No token audiences requested."
        if scopes:
            boxes = "".join(f'<input type="checkbox" name="scope" value="{escape(s)}" checked>{escape(s)}<br>\n'
                            for s in scopes)
            scope_html = f"<h2>Requested scopes:</h2>\n{boxes}"
        else:
            scope_html = "No scopes requested."
        note = ("<b>Consent established, could skip consent UI.</b>" if req.get("skip") else
                "No previous matching consent found, or client has requested re-consent.")
        return Page(200, _html(
            '<h1>Consent step</h1>\n<form action="/consent" method="post">\n'
            f'\t<input type="hidden" name="cs" value="{escape(req["challenge"])}">\n'
            f"{aud_html}\n{scope_html}\n<br>\n"
            '\t<input type="checkbox" name="remember" checked>Remember consent<br>\n'
            '\t<button type="submit" name="action" value="accept">Submit</button>\n'
            '\t<button type="submit" name="action" value="deny">Cancel</button>\n</form>\n'
            f"{note}\n<hr>\n"
            f"<h2>Previous consents for this login session ({escape(req.get('login_session_id') or '')})</h2>\n"
            f"<pre>{escape(_pretty(previous))}</pre>\n<hr>\n"
            f"<h2>Complete consent request</h2>\n<pre>{escape(_pretty(req))}</pre>"))

    def consent_post(self, form: dict[str, list[str]]) -> Page:
        challenge = _first(form, "cs")
        action = _first(form, "action")
        if action == "accept":
            answer = self._call("PUT", "/admin/oauth2/auth/requests/consent/accept",
                                params={"consent_challenge": challenge},
                                json={"grant_scope": form.get("scope", []),
                                      "grant_access_token_audience": form.get("audience", []),
                                      "remember": _first(form, "remember") == "on", "remember_for": REMEMBER_FOR,
                                      "session": SESSION})
        elif action == "deny":
            answer = self._call("PUT", "/admin/oauth2/auth/requests/consent/reject",
                                params={"consent_challenge": challenge}, json={})
        else:
            return Page(400, "Invalid action")
        return Page(302, location=answer["redirect_to"])


def _first(values: dict[str, list[str]], name: str) -> str:
    found = values.get(name)
    return found[0] if found else ""


def _pretty(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)
