"""The implicit and hybrid response types of the authorization endpoint (OIDC Core §3.2, §3.3; RFC 6749 §4.2).

`check` makes the checks of fosite's implicit and hybrid handlers. Hydra runs them after login and consent;
hydralite runs them with the rest of the request validation, before the user signs in (OIDC Core §3.1.2.2: the
request is validated first), so nobody signs in for a request that must fail. `issue` returns the parameters
of the response: the access token minted as the code grant mints it, from the consent's session, and the ID
token with `at_hash` and `c_hash`. Refresh tokens are never issued from the authorization endpoint.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hydralite.engine import oidc
from hydralite.engine.core import Engine
from hydralite.engine.grants.issuing import mint
from hydralite.errors import InvalidGrant, InvalidRequest, UnsupportedResponseMode, UnsupportedResponseType
from hydralite.models import Client
from hydralite.ops import metrics

if TYPE_CHECKING:
    from hydralite.engine.authorize import AuthorizeRequest

IMPLICIT = "implicit"
#: The response types fosite has handlers for besides `code` (OIDC Core §3.2, §3.3).
SUPPORTED = frozenset(frozenset(t.split()) for t in (
    "token", "id_token", "id_token token", "code id_token", "code token", "code id_token token"))
_REDIRECT_REQUIRED = "The 'redirect_uri' parameter is required when using OpenID Connect 1.0."


def _needs_grant(client: Client, grant: str) -> None:
    if grant not in client.grant_types:
        article = "the authorization grant" if grant == IMPLICIT else "authorization grant"  # fosite's two wordings
        raise InvalidGrant(f"The OAuth 2.0 Client is not allowed to use {article} '{grant}'.")


def check(client: Client, types: Sequence[str], response_mode: str, nonce: str, redirect_uri_sent: bool,
          scope: Sequence[str]) -> None:
    """Raise what fosite's handlers raise for a response type other than `code`, in their order."""
    wanted = frozenset(types)
    if len(wanted) != len(types) or wanted not in SUPPORTED:
        raise UnsupportedResponseType()  # no fosite handler takes it
    if "code" not in wanted:
        if "id_token" in wanted:
            if "openid" not in scope:
                raise UnsupportedResponseType()  # an ID token needs the openid scope: no fosite handler takes it
            _needs_grant(client, IMPLICIT)
            if not redirect_uri_sent:
                raise InvalidRequest(_REDIRECT_REQUIRED)
            if not nonce:
                raise InvalidRequest("Parameter 'nonce' must be set when using the OpenID Connect Implicit Flow.")
        else:
            _needs_grant(client, IMPLICIT)
    else:
        if "id_token" in wanted and not nonce:
            raise InvalidRequest("Parameter 'nonce' must be set when requesting an ID Token using the OpenID "
                                 "Connect Hybrid Flow.")
        if not redirect_uri_sent:
            raise InvalidRequest(_REDIRECT_REQUIRED)
        _needs_grant(client, "authorization_code")
        if "token" in wanted:
            _needs_grant(client, IMPLICIT)
    # OAuth 2.0 Multiple Response Type Encoding Practices §5: tokens never travel in the query.
    if response_mode == "query":
        raise UnsupportedResponseMode(f"Insecure response_mode 'query' for the response_type '[{' '.join(types)}]'.")


async def issue(engine: Engine, req: AuthorizeRequest, flow: Any, data: dict[str, Any], code: str | None
                ) -> dict[str, str]:
    """The response parameters after consent; `code` is the hybrid flow's already stored authorization code."""
    wanted = set(req.response_type.split())
    scope, audience = list(flow["granted_scope"]), list(flow["granted_audience"])
    if "code" not in wanted and "id_token" in wanted and "openid" not in scope:
        raise UnsupportedResponseType()  # the consent app did not grant openid: fosite has no handler left
    values: dict[str, str] = {"code": code} if code else {}
    minted = None
    if "token" in wanted:
        # request_id = the flow, as for the code: reuse of the hybrid code revokes this token too.
        minted = await mint(engine, req.client, IMPLICIT, flow["subject"], scope, audience, flow["id"], data)
        values.update(access_token=minted.access_token, expires_in=str(round(minted.lifespan)), token_type="bearer")
    if "id_token" in wanted and "openid" in scope:
        alg = (await engine.keys.signing_key(oidc.ID_TOKEN_SET)).get("alg") or "RS256"
        life = engine.lifespan(req.client, "implicit_grant_id_token_lifespan", engine.config.ttl_id_token)
        claims = oidc.claims(engine, req.client, flow["subject"], data, life, None)
        if minted:
            claims["at_hash"] = oidc.token_hash(minted.access_token, alg)
        if code:
            claims["c_hash"] = oidc.token_hash(code, alg)
        values["id_token"] = await engine.keys.sign(oidc.ID_TOKEN_SET, claims)
    if minted:  # signed first: nothing is stored unless the whole response can be sent
        await engine.repo.insert_access_token(minted.access)
    # Hydra echoes scope only with an access token; hydralite always does, as in its code responses.
    values.update(scope=" ".join(scope), state=req.state, iss=engine.config.issuer)
    if "access_token" in values or "id_token" in values:
        metrics.token_issued(IMPLICIT)
    return values
