"""The token endpoint: authenticate the client, check it may use the grant, dispatch by grant_type."""

from __future__ import annotations

from hydralite.engine import client_auth
from hydralite.engine.core import Engine
from hydralite.engine.forms import Form, reject_repeats, single
from hydralite.engine.grants import Grant
from hydralite.engine.grants.authorization_code import AuthorizationCode
from hydralite.engine.grants.client_credentials import ClientCredentials
from hydralite.engine.grants.device_code import DeviceCode
from hydralite.engine.grants.jwt_bearer import JwtBearer
from hydralite.engine.grants.refresh_token import RefreshToken
from hydralite.errors import (
    AccessDenied,
    InvalidRequest,
    OAuthError,
    ServerError,
    TemporarilyUnavailable,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from hydralite.models import Client, TokenResponse

GRANTS: dict[str, Grant] = {g.grant_type: g for g in (ClientCredentials(), AuthorizationCode(), RefreshToken(),
                                                        JwtBearer())}
GRANTS[DeviceCode.grant_type] = DeviceCode()


async def exchange(engine: Engine, form: Form, authorization: str | None) -> TokenResponse:
    """Fosite's order: a missing grant_type first, then client authentication, then what the grant allows."""
    # RFC 6749 §3.2: request and response parameters MUST NOT be included more than once.
    reject_repeats(form)
    # fosite splits grant_type on spaces and drops empty parts; only exactly one value selects a grant.
    grant_types = single(form, "grant_type").split(" ")
    grant_types = [g for g in grant_types if g]
    if not grant_types:
        raise InvalidRequest("The parameter 'grant_type' is missing.")
    grant = GRANTS.get(grant_types[0]) if len(grant_types) == 1 else None
    # Only client_credentials may use a remembered client: its single INSERT re-checks the client row.
    verified = engine.verified if grant is not None and grant.grant_type == "client_credentials" else None
    client = await client_auth.authenticate(form, authorization, engine.repo, engine.hasher, verified,
                                            assertions=engine.assertions)
    if grant is None:
        # Differs from Hydra on purpose: fosite answers a bare invalid_request for an unknown grant_type without
        # authenticating; hydralite authenticates first and names the error (RFC 6749 §5.2, SECURITY.md A2).
        shown = " ".join(grant_types)[:64]
        raise UnsupportedGrantType(f"The grant type '{shown}' is not supported.")
    try:
        return await _exchange(engine, grant, client, form)
    except (client_auth.StaleClient, OAuthError) as exc:
        # A token hook's refusal or an outage is not the remembered client's doing: deciding afresh would call the
        # hook a second time and double its timeout.
        if not client.cached or isinstance(exc, (ServerError, AccessDenied, TemporarilyUnavailable)):
            raise
        # The remembered client may be out of date (changed grants, scopes, secret): decide afresh.
        client = await client_auth.authenticate(form, authorization, engine.repo, engine.hasher,
                                                assertions=engine.assertions)
        if verified is not None:
            verified.put(client_auth.credentials(form, authorization), client)
        return await _exchange(engine, grant, client, form)


async def _exchange(engine: Engine, grant: Grant, client: Client, form: Form) -> TokenResponse:
    # RFC 6749 §5.2 unauthorized_client: the client is not authorized to use this grant type.
    if grant.grant_type not in client.grant_types:
        raise UnauthorizedClient(
            f"The OAuth 2.0 Client is not allowed to use authorization grant '{grant.grant_type}'.")
    return await grant.exchange(engine, client, form)
