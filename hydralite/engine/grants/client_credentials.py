"""RFC 6749 §4.4 client credentials: a confidential client gets an access token for itself."""

from __future__ import annotations

from hydralite.engine import access_tokens, audience, scopes, token_hook
from hydralite.engine.client_auth import StaleClient
from hydralite.engine.core import Engine, expiry, now, request_id
from hydralite.engine.forms import Form, single
from hydralite.errors import UnauthorizedClient
from hydralite.models import Client, NewToken, TokenResponse


class ClientCredentials:
    grant_type = "client_credentials"
    parameters = frozenset({"scope", "audience"})

    async def exchange(self, engine: Engine, client: Client, form: Form) -> TokenResponse:
        # RFC 6749 §4.4: the client credentials grant type MUST only be used by confidential clients
        # (Hydra answers invalid_grant; RFC 6749 §5.2 unauthorized_client describes it better).
        if client.is_public:
            raise UnauthorizedClient("The OAuth 2.0 Client is marked as public and is thus not allowed to use "
                                     "authorization grant 'client_credentials'.")
        requested = scopes.parse(single(form, "scope"))
        engine.scopes.check_allowed(client.scopes, requested)
        if not requested and engine.config.default_grant_allowed_scope:
            requested = client.scopes
        wanted_audience = audience.parse(form.get("audience", []))
        audience.check_allowed(client.audience, wanted_audience)

        # The token hook runs only when configured: otherwise this grant stays one round trip with no extra work.
        hooked = await token_hook.apply(engine, client, form, client.id, requested, wanted_audience, {}) \
            if engine.config.token_hook is not None else {}
        issued = now()
        lifespan = engine.lifespan(client, "client_credentials_grant_access_token_lifespan",
                                   engine.config.ttl_access_token)
        expires_at = expiry(issued, lifespan)
        token, signature = await access_tokens.mint(engine, client, client.id, requested, wanted_audience, issued,
                                                    expires_at, hooked.get("access_token") or {})
        row = NewToken(signature=signature, request_id=request_id(), client_id=client.id, subject=client.id,
                       scope=requested, audience=wanted_audience, requested_at=issued, expires_at=expires_at,
                       session=engine.seal(hooked) if hooked else None)
        if client.cached:
            # One round trip: the insert happens only if the remembered client row is unchanged.
            if not await engine.repo.insert_access_token_if_client(row, client.updated_at):
                raise StaleClient()
        else:
            await engine.repo.insert_access_token(row)
        return TokenResponse(access_token=token, expires_in=round(lifespan), scope=" ".join(requested))
