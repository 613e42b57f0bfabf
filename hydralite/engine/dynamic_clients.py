"""OpenID Connect Dynamic Client Registration (RFC 7591) and its management protocol (RFC 7592), as Hydra offers
them behind `oidc.dynamic_client_registration.enabled`.

A client registers itself without credentials and receives a `registration_access_token`; with it, and only
with it, it reads, replaces and deletes itself. The token is an HMAC token like an access token; only its
signature is stored (with the client), and every replace rotates it.
"""

from __future__ import annotations

import hmac
from typing import Any

from hydralite.crypto.tokens import ACCESS
from hydralite.engine import clients, pairwise
from hydralite.engine.client_registry import ClientRegistry, storable
from hydralite.errors import APIError
from hydralite.models import Client

_UNAUTHORIZED = "The request could not be authorized"
_BAD_CREDENTIALS = "The requested OAuth 2.0 client does not exist or you provided incorrect credentials."


def not_enabled() -> APIError:
    """Hydra registers the routes always and answers herodot's 404 while the switch is off."""
    return APIError(404, "The requested resource could not be found", "Dynamic registration is not enabled.")


def unauthorized(token: str | None) -> APIError:
    """Hydra's 401 for an unknown client and for a missing or wrong token alike (nothing tells them apart)."""
    # RFC 6750 §3: hydralite adds the WWW-Authenticate challenge Hydra leaves out; the body is Hydra's.
    challenge = 'Bearer error="invalid_token"' if token else "Bearer"
    return APIError(401, _UNAUTHORIZED, _BAD_CREDENTIALS, headers={"WWW-Authenticate": challenge})


def bearer_token(authorization: str | None, query_token: str | None) -> str | None:
    """The registration access token as fosite's AccessTokenFromRequest finds it: `Bearer` (any case) in the
    Authorization header, else the `access_token` query parameter (RFC 6750 §2.3)."""
    scheme, sep, value = (authorization or "").partition(" ")
    if sep and scheme.lower() == "bearer":
        return value
    return query_token or None


class DynamicClients:
    """The four operations of /oauth2/register on top of the admin client registry (same validation and JSON)."""

    def __init__(self, registry: ClientRegistry):
        self.registry = registry
        self.engine = registry.engine

    @property
    def enabled(self) -> bool:
        return self.engine.config.dynamic_client_registration

    def require_enabled(self) -> None:
        if not self.enabled:
            raise not_enabled()

    def client_uri(self, client_id: str) -> str:
        return clients.registration_client_uri(self.engine.config.public_url, client_id)

    async def register(self, body: Any) -> dict[str, Any]:
        """RFC 7591 §3: the new client with its generated id, secret (unless public) and registration token."""
        return await self.registry.create(body, dynamic=True)

    async def authenticate(self, client_id: str, token: str | None) -> tuple[Client, str]:
        """The client named in the path and its stored token signature, if `token` is its registration token."""
        found = await self.engine.repo.get_client_registration(client_id) if storable(client_id) else None
        client, stored = found or (None, None)
        if client is None or not stored or not token:
            raise unauthorized(token)
        if not token.startswith(ACCESS):
            token = ACCESS + token  # Hydra trims the prefix before it verifies, so the bare token works too
        signature = self.engine.codec.signature(token, ACCESS)
        if signature is None or not hmac.compare_digest(signature.encode(), stored.encode()):
            raise unauthorized(token)
        return client, stored

    def read(self, client: Client) -> dict[str, Any]:
        """RFC 7592 §2.1, as Hydra: no secret and no metadata (those stay the administrator's)."""
        # Hydra's GET leaves registration_client_uri out (it is not stored); RFC 7592 §3 includes it.
        out = self.registry.render(client, extra={"registration_client_uri": self.client_uri(client.id)})
        out.pop("metadata", None)
        return out

    async def replace(self, client: Client, stored: str, body: Any) -> dict[str, Any]:
        """RFC 7592 §2.2: replace the metadata (a missing field takes its default) and rotate the token."""
        fields = clients.decode(body)
        if fields.get("client_secret"):
            raise APIError(403, "The requested action was forbidden",
                           "It is not allowed to choose your own OAuth2 Client secret.")
        clients.check_dynamic(fields)
        doc = clients.validate(fields, self.engine.config)
        await pairwise.check_client(self.engine, doc)
        token, signature = self.engine.codec.generate(ACCESS)
        updated = await self.engine.repo.update_registered_client(client.id, stored, signature, doc,
                                                                  clients.now_utc())
        if updated is None:  # another request rotated the token (or deleted the client) meanwhile
            raise unauthorized(token)
        # Hydra echoes registration_client_uri only when the body carried one; hydralite always names it.
        extra = {"registration_access_token": token, "registration_client_uri": self.client_uri(client.id)}
        return self.registry.render(updated, None, extra, clients.unset_lists(fields))

    async def delete(self, client: Client, stored: str) -> None:
        """RFC 7592 §2.3: the client and, by cascade, its tokens are gone; the registration token with them."""
        if not await self.engine.repo.delete_registered_client(client.id, stored):
            raise unauthorized(stored)
