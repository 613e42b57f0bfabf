"""RFC 6749 §4.1.3 authorization code exchange, with PKCE (RFC 7636) and reuse detection."""

from __future__ import annotations

from hydralite.crypto.tokens import CODE
from hydralite.engine import pkce, token_hook
from hydralite.engine.core import Engine, now
from hydralite.engine.forms import Form, single
from hydralite.engine.grants.issuing import mint, response
from hydralite.errors import InvalidGrant, InvalidRequest
from hydralite.models import Client, TokenResponse


class AuthorizationCode:
    grant_type = "authorization_code"
    parameters = frozenset({"code", "redirect_uri", "code_verifier"})

    async def exchange(self, engine: Engine, client: Client, form: Form) -> TokenResponse:
        code = single(form, "code")
        if not code:
            raise InvalidRequest("The parameter 'code' is missing.")
        # HMAC first: a forged or foreign code never reaches the database.
        signature = engine.codec.signature(code, CODE)
        if signature is None:
            raise InvalidGrant("The authorization code is malformed or not valid.")
        row = await engine.repo.get_auth_code(signature)
        if row is None:
            raise InvalidGrant("The authorization code is malformed or not valid.")
        if not row["active"]:
            # RFC 6749 §4.1.2: a reused code SHOULD revoke all tokens previously issued from it.
            await engine.repo.revoke_request(row["request_id"])
            raise InvalidGrant("The authorization code has already been used.")
        # RFC 6749 §4.1.3: the code must have been issued to the authenticated client.
        if row["client_id"] != client.id:
            raise InvalidGrant("The OAuth 2.0 Client ID from this request does not match the one from the "
                               "authorize request.")
        if row["expires_at"] <= now():
            raise InvalidGrant("The authorization code has expired.")
        # RFC 6749 §4.1.3: redirect_uri must be identical if it was included in the authorization request.
        if row["redirect_uri"] and single(form, "redirect_uri") != row["redirect_uri"]:
            raise InvalidGrant("The 'redirect_uri' from this request does not match the one from the authorize "
                               "request.")
        pkce.verify(row["code_challenge"], single(form, "code_verifier"))

        data = engine.open(row["session"])
        data = await token_hook.apply(engine, client, form, row["subject"], list(row["scope"]), list(row["audience"]),
                                      data)
        minted = await mint(engine, client, "authorization_code", row["subject"], list(row["scope"]),
                            list(row["audience"]), row["request_id"], data)
        # Sign first: nothing is written unless the whole response can be sent.
        result = await response(engine, client, "authorization_code", minted, data)
        if not await engine.repo.exchange_code(signature, minted.access, minted.refresh):
            # A concurrent exchange spent the code first: exactly one of them succeeds.
            raise InvalidGrant("The authorization code has already been used.")
        return result
