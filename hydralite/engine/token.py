"""The token endpoint: authenticate the client, check it may use the grant, dispatch by grant_type."""

from __future__ import annotations

from hydralite.engine import client_auth
from hydralite.engine.core import Engine
from hydralite.engine.forms import Form, reject_repeats, single
from hydralite.engine.grants import Grant
from hydralite.engine.grants.authorization_code import AuthorizationCode
from hydralite.engine.grants.client_credentials import ClientCredentials
from hydralite.engine.grants.refresh_token import RefreshToken
from hydralite.errors import InvalidRequest, OAuthError, UnauthorizedClient, UnsupportedGrantType
from hydralite.models import Client, TokenResponse

GRANTS: dict[str, Grant] = {g.grant_type: g for g in (ClientCredentials(), AuthorizationCode(), RefreshToken())}


async def exchange(engine: Engine, form: Form, authorization: str | None) -> TokenResponse:
    # RFC 6749 §3.2: request and response parameters MUST NOT be included more than once.
    reject_repeats(form)
    grant_type = single(form, "grant_type")
    if not grant_type:
        raise InvalidRequest("The parameter 'grant_type' is missing.")
    grant = GRANTS.get(grant_type)
    if grant is None:
        raise UnsupportedGrantType(f"The grant type '{grant_type[:64]}' is not supported.")
    # Only client_credentials may use a remembered client: its single INSERT re-checks the client row.
    verified = engine.verified if grant_type == "client_credentials" else None
    client = await client_auth.authenticate(form, authorization, engine.repo, engine.hasher, verified)
    try:
        return await _exchange(engine, grant, client, form)
    except (client_auth.StaleClient, OAuthError):
        if not client.cached:
            raise
        # The remembered client may be out of date (changed grants, scopes, secret): decide afresh.
        client = await client_auth.authenticate(form, authorization, engine.repo, engine.hasher)
        if verified is not None:
            verified.put(client_auth.credentials(form, authorization), client)
        return await _exchange(engine, grant, client, form)


async def _exchange(engine: Engine, grant: Grant, client: Client, form: Form) -> TokenResponse:
    # RFC 6749 §5.2 unauthorized_client: the client is not authorized to use this grant type.
    if grant.grant_type not in client.grant_types:
        raise UnauthorizedClient(
            f"The OAuth 2.0 Client is not allowed to use authorization grant '{grant.grant_type}'.")
    return await grant.exchange(engine, client, form)
