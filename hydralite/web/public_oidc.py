"""OpenID Connect discovery (and RFC 8414 metadata) and the public key set."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hydralite.engine.core import Engine
from hydralite.web.common import api_json


def discovery(engine: Engine) -> dict[str, Any]:
    """What hydralite supports, advertised with Hydra's field names (REFERENCE.md §7)."""
    config = engine.config
    public, issuer = config.public_url, config.issuer.rstrip("/")
    return {
        "issuer": config.issuer,
        "authorization_endpoint": f"{public}/oauth2/auth",
        "token_endpoint": f"{public}/oauth2/token",
        "jwks_uri": f"{issuer}/.well-known/jwks.json",
        "subject_types_supported": ["public"],
        "response_types_supported": ["code"],
        "claims_supported": ["sub"],
        "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "userinfo_endpoint": f"{public}/userinfo",
        "scopes_supported": ["offline_access", "offline", "openid"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic", "none"],
        "userinfo_signing_alg_values_supported": ["none"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "id_token_signed_response_alg": ["RS256"],
        "userinfo_signed_response_alg": ["none"],
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": True,
        "claims_parameter_supported": False,
        "revocation_endpoint": f"{issuer}/oauth2/revoke",
        "backchannel_logout_supported": False,
        "backchannel_logout_session_supported": False,
        "frontchannel_logout_supported": False,
        "frontchannel_logout_session_supported": False,
        "end_session_endpoint": f"{issuer}/oauth2/sessions/logout",
        "code_challenge_methods_supported": ["S256"],
        "authorization_response_iss_parameter_supported": True,
    }


def routes(engine: Engine) -> list[Route]:
    async def configuration(request: Request) -> Response:
        return api_json(discovery(engine))

    async def jwks(request: Request) -> Response:
        return api_json(await engine.keys.public_jwks())

    return [
        Route("/.well-known/openid-configuration", configuration, methods=["GET"]),
        Route("/.well-known/oauth-authorization-server", configuration, methods=["GET"]),
        Route("/.well-known/jwks.json", jwks, methods=["GET"]),
    ]
