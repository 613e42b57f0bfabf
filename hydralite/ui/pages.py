"""HTML for the example login/consent/logout app.

Every value that reaches a page goes through `e()` (html.escape with quotes), so a client name,
a login hint or a scope cannot inject markup. No inline styles or scripts: the CSS is served at
/static.css, which the Content-Security-Policy (`default-src 'self'`) allows.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

CSS = """\
body { font-family: system-ui, sans-serif; max-width: 32rem; margin: 3rem auto; padding: 0 1rem; color: #222; }
h1 { font-size: 1.4rem; }
form { display: grid; gap: .75rem; }
label { display: block; }
input[type=email], input[type=password], input[type=text] { width: 100%; padding: .4rem; box-sizing: border-box; }
.buttons { display: flex; gap: .5rem; }
button { padding: .4rem 1rem; }
.error { color: #a00; border: 1px solid #a00; padding: .5rem; }
.muted { color: #666; font-size: .9rem; }
code { background: #f3f3f3; padding: 0 .2rem; }
"""


def e(value: object) -> str:
    """Escape any value for HTML text and attribute contexts."""
    return escape(str(value), quote=True)


def layout(title: str, body: str) -> str:
    return (f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f'<title>{e(title)}</title><link rel="stylesheet" href="/static.css"></head>'
            f"<body><h1>{e(title)}</h1>{body}</body></html>\n")


def _hidden(challenge: str, csrf: str) -> str:
    return (f'<input type="hidden" name="challenge" value="{e(challenge)}">'
            f'<input type="hidden" name="csrf" value="{e(csrf)}">')


def index() -> str:
    return layout("hydralite example login & consent app", (
        "<p>This small app shows how a login, consent and logout UI talks to hydralite: hydralite "
        "redirects the browser here with a <code>login_challenge</code>, <code>consent_challenge</code> "
        "or <code>logout_challenge</code>; the app reads the request and accepts or rejects it through "
        "the admin API, then sends the browser to the returned <code>redirect_to</code>.</p>"
        "<p>Demo user: <code>foo@bar.com</code>, password <code>foobar</code>.</p>"
        "<p>Signing in a device (TV, command line)? Open the verification address it shows, or "
        "<code>/device</code> here after hydralite sent you, and enter its code.</p>"
        '<p class="muted">Copy the pattern (hydralite/ui/app.py) into your own application and replace '
        "the demo user with your user database.</p>"))


def login(challenge: str, csrf: str, client_name: str, email: str = "", error: str = "") -> str:
    problem = f'<p class="error" role="alert">{e(error)}</p>' if error else ""
    return layout("Sign in", (
        f"<p>to continue to <strong>{e(client_name)}</strong></p>{problem}"
        f'<form method="post" action="/login">{_hidden(challenge, csrf)}'
        f'<label>Email <input type="email" name="email" value="{e(email)}" autocomplete="username" '
        f"autofocus></label>"
        '<label>Password <input type="password" name="password" autocomplete="current-password"></label>'
        '<label><input type="checkbox" name="remember" value="1"> Remember me</label>'
        '<div class="buttons"><button type="submit" name="action" value="accept">Sign in</button>'
        '<button type="submit" name="action" value="deny">Deny</button></div></form>'
        '<p class="muted">Demo user: foo@bar.com / foobar</p>'))


def consent(challenge: str, csrf: str, client_name: str, subject: str, scopes: Iterable[str],
            audiences: Iterable[str]) -> str:
    boxes = "".join(f'<label><input type="checkbox" name="grant_scope" value="{e(s)}" checked> {e(s)}</label>'
                    for s in scopes) or "<p>No scopes were requested.</p>"
    audience = ", ".join(e(a) for a in audiences)
    extra = f'<p class="muted">Audience: {audience}</p>' if audience else ""
    return layout("Authorize access", (
        f"<p>Hi {e(subject)}, <strong>{e(client_name)}</strong> wants access to:</p>"
        f'<form method="post" action="/consent">{_hidden(challenge, csrf)}{boxes}{extra}'
        '<label><input type="checkbox" name="remember" value="1"> Remember my decision</label>'
        '<div class="buttons"><button type="submit" name="action" value="accept">Allow</button>'
        '<button type="submit" name="action" value="deny">Deny</button></div></form>'))


def logout(challenge: str, csrf: str, subject: str) -> str:
    who = f" ({e(subject)})" if subject else ""
    return layout("Sign out", (
        f"<p>Do you want to sign out{who}?</p>"
        f'<form method="post" action="/logout">{_hidden(challenge, csrf)}'
        '<div class="buttons"><button type="submit" name="action" value="accept">Yes, sign me out</button>'
        '<button type="submit" name="action" value="deny">No, stay signed in</button></div></form>'))


def still_signed_in() -> str:
    return layout("You are still signed in", "<p>You chose not to sign out. You can close this page.</p>")


def error(title: str, message: str, link: str = "") -> str:
    again = f'<p><a href="{e(link)}">Start again</a></p>' if link else ""
    return layout(title, f'<p class="error" role="alert">{e(message)}</p>{again}')


def device(challenge: str, csrf: str, user_code: str = "", error: str = "") -> str:
    problem = f'<p class="error" role="alert">{e(error)}</p>' if error else ""
    return layout("Sign in a device", (
        f"<p>Enter the code your device shows.</p>{problem}"
        f'<form method="post" action="/device">{_hidden(challenge, csrf)}'
        f'<label>Code <input type="text" name="user_code" value="{e(user_code)}" autocomplete="one-time-code" '
        'autocapitalize="none" spellcheck="false" autofocus></label>'
        '<div class="buttons"><button type="submit">Continue</button></div></form>'
        '<p class="muted">Next you sign in and allow the device access, as for any application.</p>'))


def device_done(client_id: str) -> str:
    who = f" (<code>{e(client_id)}</code>)" if client_id else ""
    return layout("Your device is signed in", (
        f"<p>The device{who} now has access. You can close this page and return to it.</p>"))
