"""The authorization endpoint's request validation and the responses it sends back (RFC 6749 §4.1).

Until client_id and redirect_uri are known good, errors go to an error page and never to
the redirect_uri (RFC 6749 §4.1.2.1); after that they go to the client with `state` and `iss`.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from hydralite.engine import audience, pkce, redirects, request_objects, response_types, scopes
from hydralite.engine.core import Engine
from hydralite.engine.forms import Form, single
from hydralite.errors import (
    InsufficientEntropy,
    InvalidClient,
    InvalidRequest,
    InvalidState,
    OAuthError,
    RegistrationNotSupported,
    UnsupportedResponseMode,
    UnsupportedResponseType,
)
from hydralite.models import Client

MIN_ENTROPY = 8
_PROMPTS = {"none", "login", "consent", "select_account", "registration"}


@dataclass
class AuthorizeRequest:
    client: Client
    redirect_uri: str
    redirect_uri_sent: bool
    response_type: str
    response_mode: str
    state: str
    scope: list[str]
    audience: list[str]
    nonce: str = ""
    prompt: set[str] = field(default_factory=set)
    max_age: int | None = None
    code_challenge: str = ""
    login_hint: str = ""
    id_token_hint: str = ""
    acr_values: list[str] = field(default_factory=list)
    ui_locales: list[str] = field(default_factory=list)
    display: str = ""

    def to_dict(self) -> dict[str, Any]:
        """What the flow row keeps of the request (the client is stored by id)."""
        return {"redirect_uri": self.redirect_uri, "redirect_uri_sent": self.redirect_uri_sent,
                "response_type": self.response_type, "response_mode": self.response_mode, "state": self.state,
                "nonce": self.nonce, "prompt": sorted(self.prompt), "max_age": self.max_age,
                "code_challenge": self.code_challenge, "login_hint": self.login_hint,
                "acr_values": self.acr_values, "ui_locales": self.ui_locales, "display": self.display}


class ErrorPage(Exception):
    """An error that must not be sent to the client's redirect_uri (unknown client, bad redirect_uri)."""

    def __init__(self, error: OAuthError):
        super().__init__(error.error)
        self.error = error


class ClientError(Exception):
    """An error delivered to the client's redirect_uri."""

    def __init__(self, error: OAuthError, target: AuthorizeRequest | dict[str, Any]):
        super().__init__(error.error)
        self.error = error
        if isinstance(target, AuthorizeRequest):
            target = {"redirect_uri": target.redirect_uri, "response_mode": target.response_mode,
                      "state": target.state}
        self.target = target


@dataclass
class Response:
    """What the web layer sends: a redirect (302/303) or an auto-submitting form, plus cookies."""

    location: str = ""
    status: int = 302
    body: str = ""
    cookies: list[tuple[str, str, int]] = field(default_factory=list)  # (name, value, max_age); max_age 0 deletes


async def validate(engine: Engine, params: Form) -> AuthorizeRequest:
    client_id = single(params, "client_id")
    client = await engine.repo.get_client(client_id) if client_id and len(client_id) <= 255 else None
    if client is None:
        raise ErrorPage(InvalidClient("The requested OAuth 2.0 Client does not exist."))
    try:  # OIDC Core §6: a request object's claims replace the query's parameters before anything is read
        params = await request_objects.merge(engine, client, params)
    except OAuthError as exc:
        raise ErrorPage(exc) from exc
    requested_scope = single(params, "scope")
    redirect_uri = single(params, "redirect_uri")
    registered = client.redirect_uris
    if redirect_uri:
        if not redirects.match(redirect_uri, registered):
            raise ErrorPage(InvalidRequest("The 'redirect_uri' parameter does not match any of the OAuth 2.0 "
                                           "Client's pre-registered redirect urls."))
        sent = True
    else:
        if len(registered) != 1 or "openid" in requested_scope.split():
            raise ErrorPage(InvalidRequest("The 'redirect_uri' parameter is required when using OpenID Connect "
                                           "or when the client has more than one redirect URI registered."))
        redirect_uri, sent = registered[0], False

    raw_response_type = single(params, "response_type")
    requested_types = raw_response_type.split()
    response_type = " ".join(sorted(requested_types))
    response_mode = single(params, "response_mode")
    default_mode = "query" if response_type == "code" else "fragment"
    if response_mode and response_mode not in ("query", "fragment", "form_post"):
        raise ClientError(UnsupportedResponseMode(f"Unknown response mode '{response_mode[:32]}'."),
                          {"redirect_uri": redirect_uri, "response_mode": default_mode,
                           "state": single(params, "state")})
    target = {"redirect_uri": redirect_uri, "response_mode": response_mode or default_mode,
              "state": single(params, "state")}
    if not response_type:
        raise ClientError(UnsupportedResponseType("The request is missing the 'response_type' parameter."), target)
    # RFC 6749 §3.1.1: the order of the values does not matter ("a b" is "b a"); fosite matches them as sets.
    if not any(sorted(registered_type.split()) == sorted(requested_types) for registered_type in client.response_types):
        raise ClientError(UnsupportedResponseType(
            f"The client is not allowed to request response_type '{raw_response_type}'."), target)

    if single(params, "registration"):
        raise ClientError(RegistrationNotSupported(), target)

    state = single(params, "state")
    if len(state) < MIN_ENTROPY:
        raise ClientError(InvalidState(f"Request parameter 'state' must be at least be {MIN_ENTROPY} characters "
                                       "long to ensure sufficient entropy."), target)
    try:
        wanted = scopes.parse(requested_scope)
        engine.scopes.check_allowed(client.scopes, wanted)
        wanted_audience = audience.parse(params.get("audience", []))
        audience.check_allowed(client.audience, wanted_audience)
    except OAuthError as exc:
        raise ClientError(exc, target) from exc

    prompt = set(single(params, "prompt").split())
    if not prompt <= _PROMPTS:
        raise ClientError(InvalidRequest("Used unknown value for the 'prompt' parameter."), target)
    if "none" in prompt and len(prompt) > 1:
        raise ClientError(InvalidRequest("Parameter 'prompt' was set to 'none', but contains other values as "
                                         "well which is not allowed."), target)
    max_age_text = single(params, "max_age")
    max_age = None
    if max_age_text:
        if not max_age_text.isdigit() or len(max_age_text) > 10:
            raise ClientError(InvalidRequest("Parameter 'max_age' must be a non-negative integer."), target)
        max_age = int(max_age_text)
    nonce = single(params, "nonce")
    if nonce and len(nonce) < MIN_ENTROPY:
        raise ClientError(InsufficientEntropy(f"Parameter 'nonce' is set but does not satisfy the minimum entropy "
                                              f"of {MIN_ENTROPY} characters."), target)
    challenge = single(params, "code_challenge")
    config = engine.config
    if "code" in requested_types:  # fosite's PKCE handler looks only at requests that issue a code
        try:
            pkce.check_challenge(challenge, single(params, "code_challenge_method"),
                                 required=config.pkce_enforced or (config.pkce_enforced_for_public_clients
                                                                   and client.is_public))
        except OAuthError as exc:
            raise ClientError(exc, target) from exc
    if response_type != "code":
        try:
            response_types.check(client, requested_types, response_mode, nonce, sent, wanted)
        except OAuthError as exc:
            raise ClientError(exc, target) from exc

    return AuthorizeRequest(
        client=client, redirect_uri=redirect_uri, redirect_uri_sent=sent, response_type=response_type,
        response_mode=response_mode or default_mode, state=state, scope=wanted, audience=wanted_audience,
        nonce=nonce, prompt=prompt, max_age=max_age, code_challenge=challenge,
        login_hint=single(params, "login_hint"), id_token_hint=single(params, "id_token_hint"),
        acr_values=single(params, "acr_values").split(), ui_locales=single(params, "ui_locales").split(),
        display=single(params, "display"))


def respond(target: dict[str, Any], values: dict[str, str]) -> Response:
    """Deliver parameters to the client: 303 with query or fragment, or an auto-submitting form_post page."""
    uri, mode = target["redirect_uri"], target["response_mode"]
    if mode == "form_post":
        inputs = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}"/>'
                         for k, v in values.items())
        body = ("<!DOCTYPE html><html><head><title>Submit This Form</title></head>"
                "<body onload=\"javascript:document.forms[0].submit()\">"
                f'<form method="post" action="{html.escape(uri)}">{inputs}</form></body></html>')
        return Response(status=200, body=body)
    parts = urlsplit(uri)
    encoded = urlencode(values)
    if mode == "fragment":
        location = urlunsplit((*parts[:4], encoded))
    else:
        query = f"{parts.query}&{encoded}" if parts.query else encoded
        location = urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))
    # RFC 9700 §4.12: never 307 a credential-bearing request; 303 as fosite does.
    return Response(location=location, status=303)


def error_response(engine: Engine, exc: ClientError) -> Response:
    values = exc.error.to_dict(engine.config.expose_internal_errors)
    if exc.target.get("state"):
        values["state"] = exc.target["state"]
    values["iss"] = engine.config.issuer
    return respond(exc.target, values)
