"""RFC 7009 revocation: revoking any token of a grant revokes the whole grant (all its tokens)."""

from __future__ import annotations

from hydralite.crypto.tokens import ACCESS, REFRESH
from hydralite.engine import access_tokens, client_auth
from hydralite.engine.core import Engine
from hydralite.engine.forms import Form, reject_repeats, single
from hydralite.errors import InvalidRequest, UnauthorizedClient


async def revoke(engine: Engine, form: Form, authorization: str | None) -> None:
    reject_repeats(form)
    client = await client_auth.authenticate(form, authorization, engine.repo, engine.hasher,
                                            assertions=engine.assertions)
    token = single(form, "token")
    if not token:
        raise InvalidRequest("The parameter 'token' is missing.")
    repo = engine.repo
    if access_tokens.is_jwt(token):
        # A JWT access token (expired ones too): its signature must verify before its row is looked up.
        signature = await access_tokens.signature(engine, token, accept_expired=True)
        found = (ACCESS, signature) if signature else None
    else:
        found = engine.codec.any_signature(token, (ACCESS, REFRESH))
    if found is None:
        return  # RFC 7009 §2.2: invalid tokens do not cause an error response.
    prefix, signature = found
    record = await (repo.get_access_token(signature) if prefix == ACCESS else repo.get_refresh_token(signature))
    if record is None:
        return
    # RFC 7009 §2.1: the server verifies the token was issued to the client making the request
    # (Hydra writes 200 on the wire here; the RFC's refusal tells the client the truth).
    if record.client_id != client.id:
        raise UnauthorizedClient("The OAuth 2.0 Client is not allowed to revoke a token issued to another client.")
    await repo.revoke_request(record.request_id)


async def delete_client_tokens(engine: Engine, client_id: str) -> None:
    """The admin API's DELETE /admin/oauth2/tokens: every access token of the client goes."""
    await engine.repo.delete_client_access_tokens(client_id)
