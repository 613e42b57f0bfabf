"""RFC 6749 §6 refresh with strict rotation; a spent refresh token revokes its whole chain (RFC 9700 §4.14.2)."""

from __future__ import annotations

from hydralite.crypto.tokens import REFRESH
from hydralite.engine import scopes, token_hook
from hydralite.engine.core import Engine, now
from hydralite.engine.forms import Form, single
from hydralite.engine.grants.issuing import OFFLINE, mint, response
from hydralite.errors import InvalidGrant, InvalidRequest, InvalidScope, ScopeNotGranted
from hydralite.models import Client, TokenResponse


class RefreshToken:
    grant_type = "refresh_token"
    parameters = frozenset({"refresh_token", "scope"})

    async def exchange(self, engine: Engine, client: Client, form: Form) -> TokenResponse:
        token = single(form, "refresh_token")
        if not token:
            raise InvalidRequest("The parameter 'refresh_token' is missing.")
        signature = engine.codec.signature(token, REFRESH)
        record = await engine.repo.get_refresh_token(signature) if signature else None
        if record is None:
            raise InvalidGrant("The refresh token is malformed or not valid.")
        if not record.active:
            await engine.repo.revoke_request(record.request_id)
            raise InvalidGrant("The refresh token was already used.")
        if record.client_id != client.id:
            raise InvalidGrant("The OAuth 2.0 Client ID from this request does not match the ID during the "
                               "initial token issuance.")
        if record.expires_at is not None and record.expires_at <= now():
            raise InvalidGrant("The refresh token expired.")
        if not any(s in record.scope for s in OFFLINE):
            raise ScopeNotGranted("The OAuth 2.0 Client was not granted scope offline and may thus not perform "
                                  "the 'refresh_token' authorization grant.")
        granted = record.scope
        requested = scopes.parse(single(form, "scope"))
        if requested:
            # RFC 6749 §6: the requested scope MUST NOT include any scope not originally granted.
            extra = [s for s in requested if s not in granted]
            if extra:
                raise InvalidScope(f"The requested scope '{extra[0]}' was not originally granted.")
            granted = [s for s in granted if s in requested or s in OFFLINE]
        engine.scopes.check_allowed(client.scopes, granted)
        data = engine.open(record.session)
        data = await token_hook.apply(engine, client, form, record.subject, granted, record.audience, data)
        minted = await mint(engine, client, "refresh_token", record.subject, granted, record.audience,
                            record.request_id, data)
        if minted.refresh is None:
            raise InvalidGrant("The client may no longer use refresh tokens.")
        # Sign first: nothing is written unless the whole response can be sent.
        result = await response(engine, client, "refresh_token", minted, data)
        if not await engine.repo.rotate_refresh(record.signature, minted.access, minted.refresh):
            raise InvalidGrant("The refresh token was already used.")
        return result
