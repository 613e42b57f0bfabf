"""OpenID Connect request objects (OIDC Core §6): the `request` and `request_uri` authorization parameters.

As fosite's authorizeRequestParametersFromOpenIDConnectRequest: only looked at when the query's `scope` holds
`openid`; the client must have `jwks` or `jwks_uri`; a `request_uri` must be one of the client's registered
`request_uris` and is fetched through engine.outbound; the JWT must use the client's `request_object_signing_alg`
and verify with one of its keys; then its claims replace the query's parameters, and the query's scopes are kept.
Every failure is an OAuthError meant for the error page: the redirect_uri is not validated yet (as in fosite).
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from hydralite.engine.client_assertion import (
    SIGNING_ALGS,
    MalformedJWT,
    TimeClaimError,
    candidate_keys,
    check_time_claims,
    decode_unverified,
    verify_signature,
)
from hydralite.engine.core import Engine
from hydralite.engine.forms import Form, single
from hydralite.engine.outbound import OutboundError
from hydralite.errors import InvalidRequest, InvalidRequestObject, InvalidRequestURI
from hydralite.models import Client

#: hydralite's bounds (fosite has none): a request object is a few kilobytes.
MAX_REQUEST_OBJECT = 64 * 1024
FETCH_TIMEOUT = 5.0
#: Claims that describe the JWT itself, or would nest another request object: never authorization parameters.
_NOT_PARAMETERS = frozenset({"iss", "aud", "exp", "iat", "nbf", "jti", "request", "request_uri"})


async def merge(engine: Engine, client: Client, params: Form) -> Form:
    """`params` with the request object's claims merged in, or `params` itself when none was sent."""
    if "openid" not in single(params, "scope").split():
        return params  # as fosite: request objects belong to OpenID Connect requests only
    value, location = single(params, "request"), single(params, "request_uri")
    if not value and not location:
        return params
    if value and location:
        raise InvalidRequest("OpenID Connect parameters 'request' and 'request_uri' were both given, but you can use "
                             "at most one.")
    metadata = client.metadata
    if not isinstance(metadata.get("jwks"), dict) and not metadata.get("jwks_uri"):
        raise InvalidRequest("OpenID Connect 'request' or 'request_uri' context was given, but the OAuth 2.0 Client "
                             "does not have any JSON Web Keys registered.")
    if location:
        value = await _fetch(engine, client, location)
    if len(value) > MAX_REQUEST_OBJECT:
        raise InvalidRequestObject(f"The request object must not be longer than {MAX_REQUEST_OBJECT} characters.")
    claims = await _verify(engine, client, value)
    return _merged(params, claims)


async def _fetch(engine: Engine, client: Client, location: str) -> str:
    """The request object behind a registered request_uri (exact match, as fosite)."""
    registered = client.metadata.get("request_uris") or []
    if location not in registered:
        raise InvalidRequestURI(f"Request URI '{location[:256]}' is not whitelisted by the OAuth 2.0 Client.")
    try:
        response = await engine.outbound.request(
            "GET", location, headers={"Accept": "application/oauth-authz-req+jwt, application/jwt"},
            timeout=FETCH_TIMEOUT, max_bytes=MAX_REQUEST_OBJECT)
    except OutboundError as exc:
        raise InvalidRequestURI(f"Unable to fetch OpenID Connect request parameters from 'request_uri' because: "
                                f"{exc}.", debug=str(exc)) from None
    if response.status_code != 200:
        raise InvalidRequestURI("Unable to fetch OpenID Connect request parameters from 'request_uri' because status "
                                f"code '200' was expected, but got '{response.status_code}'.")
    try:
        return response.content.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise InvalidRequestURI("Unable to fetch OpenID Connect request parameters from 'request_uri' because body "
                                "parsing failed.") from None


async def _verify(engine: Engine, client: Client, token: str) -> dict[str, Any]:
    try:
        header, unverified = decode_unverified(token)
    except MalformedJWT as exc:
        raise InvalidRequestObject("Unable to verify the request object's signature.", debug=str(exc)) from None
    alg = header.get("alg")
    shown = str(alg)[:32]
    wanted = client.metadata.get("request_object_signing_alg") or ""
    if wanted and alg != wanted:
        raise InvalidRequestObject(f"The request object uses signing algorithm '{shown}', but the requested OAuth 2.0 "
                                   f"Client enforces signing algorithm '{wanted}'.")
    if alg == "none":
        # Differs from fosite on purpose: fosite also takes an unsigned object from a client that registered no alg.
        if wanted != "none" or token.split(".")[2]:
            raise InvalidRequestObject("The request object is not signed, but the OAuth 2.0 Client did not register "
                                       "'request_object_signing_alg' 'none'.")
        claims = unverified
    elif alg in SIGNING_ALGS:
        found = verify_signature(token, await _keys(engine, client, header), alg)
        if found is None:
            raise InvalidRequestObject("Unable to verify the request object's signature.")
        claims = found
    else:
        raise InvalidRequestObject(f"This request object uses unsupported signing algorithm '{shown}'.")
    try:
        # As fosite's MapClaims.Valid: exp, nbf and iat are checked when present; none is required.
        check_time_claims({"exp": math.inf, **claims})
    except TimeClaimError as exc:
        raise InvalidRequestObject("Unable to verify the request object because its claims could not be validated, "
                                   "check if the expiry time is set correctly.", debug=str(exc)) from None
    return claims


async def _keys(engine: Engine, client: Client, header: dict[str, Any]) -> list[dict[str, Any]]:
    """The client's keys that may have signed the object: inline `jwks` first, else `jwks_uri` (shared cache)."""
    jwks = client.metadata.get("jwks")
    inline = jwks.get("keys") if isinstance(jwks, dict) else None
    location = client.metadata.get("jwks_uri") or ""
    if isinstance(inline, list) and (inline or not location):
        keys: list[Any] = inline
    else:
        cache = engine.assertions.jwks
        try:
            keys, fresh = await cache.get(location)
            if not candidate_keys(keys, header) and not fresh:
                keys = await cache.refresh(location)
        except OutboundError as exc:
            raise InvalidRequestObject("Unable to retrieve signing key from OAuth 2.0 Client: the JSON Web Key Set "
                                       "behind its 'jwks_uri' could not be fetched.", debug=str(exc)) from None
    found = candidate_keys(keys, header)
    if not found:
        kid = str(header.get("kid"))[:64]
        raise InvalidRequestObject(f"Unable to retrieve signing key from OAuth 2.0 Client: no key for alg "
                                   f"'{str(header.get('alg'))[:32]}' and kid '{kid}' in its JSON Web Key Set.")
    return found


def _parameter(value: Any) -> list[str]:
    """A claim as form values (fosite formats every claim with %s; numbers and lists are kept readable here)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, bool):
        return ["true" if value else "false"]
    if isinstance(value, int | float):
        return [str(int(value)) if float(value).is_integer() else str(value)]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return [" ".join(value)]
    return [orjson.dumps(value).decode()]


def _merged(params: Form, claims: dict[str, Any]) -> Form:
    """Claims override query parameters (fosite); client_id and response_type must agree (OIDC Core §6.1)."""
    for name in ("client_id", "response_type"):
        if name in claims:
            sent = _parameter(claims[name])[0]
            if sorted(sent.split()) != sorted(single(params, name).split()):
                raise InvalidRequestObject(f"The request object's '{name}' does not match the '{name}' request "
                                           "parameter.")
    query_scope = single(params, "scope").split()
    out: Form = dict(params)
    out.pop("request", None)
    out.pop("request_uri", None)
    for name, value in claims.items():
        if name in _NOT_PARAMETERS:
            continue
        if name == "audience" and isinstance(value, list) and all(isinstance(v, str) for v in value):
            out[name] = list(value)
        else:
            out[name] = _parameter(value)
    scope = single(out, "scope").split()
    out["scope"] = [" ".join(scope + [s for s in query_scope if s not in scope])]
    return out
