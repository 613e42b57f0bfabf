"""The storage interface the engine needs; db.repository.PgRepository implements it over PostgreSQL.

One small protocol per concern, as fosite splits its storage (ClientManager, AccessTokenStorage,
AuthorizeCodeStorage, …) and Hydra its managers (consent.Manager, jwk.Manager). Each engine module asks
for the narrowest one it needs; the Engine holds the combined `Repository`. mypy checks PgRepository
against `Repository` (see the end of db/repository.py), so a storage method the engine calls must be
declared here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

from hydralite.models import Client, NewToken, TokenRecord


class Row(Protocol):
    """A stored row read by column name (asyncpg.Record satisfies it)."""

    def __getitem__(self, key: str, /) -> Any: ...


class ClientStorage(Protocol):
    """OAuth 2.0 clients (fosite's ClientManager plus Hydra's client.Manager writes)."""

    async def get_client(self, client_id: str) -> Client | None: ...

    async def insert_client(self, client_id: str, secret_hash: str | None, registration_signature: str | None,
                            metadata: dict[str, Any], now: datetime) -> Client: ...

    async def update_client(self, client_id: str, secret_hash: str | None, metadata: dict[str, Any],
                            now: datetime) -> Client | None: ...

    async def delete_client(self, client_id: str) -> bool: ...

    async def list_clients(self, limit: int, after: str, name: str | None, owner: str | None) -> list[Client]: ...


class TokenStorage(Protocol):
    """Access and refresh tokens, and revocation by request id (fosite's token and revocation storage)."""

    async def insert_access_token(self, token: NewToken, /) -> None: ...

    async def insert_access_token_if_client(self, token: NewToken, client_updated_at: datetime, /) -> bool:
        """Insert only while the client is unchanged since `client_updated_at`; False otherwise."""
        ...

    async def get_access_token(self, signature: str) -> TokenRecord | None: ...

    async def get_refresh_token(self, signature: str) -> TokenRecord | None: ...

    async def rotate_refresh(self, old_signature: str, at: NewToken, rt: NewToken) -> bool:
        """Spend the old refresh token and write the new pair atomically; False when another use won."""
        ...

    async def revoke_request(self, request_id: str) -> None: ...

    async def delete_client_access_tokens(self, client_id: str) -> None: ...


class FlowStorage(Protocol):
    """Login/consent flows and the authorization codes they end in (fosite's AuthorizeCodeStorage)."""

    async def insert_flow(self, flow_id: str, client_id: str, request: dict[str, Any], request_url: str,
                          scope: list[str], audience: list[str], skip: bool, subject: str,
                          session_id: str | None, csrf: str, authenticated_at: datetime | None,
                          requested_at: datetime) -> None: ...

    async def get_flow(self, challenge: str, kind: str) -> Row | None: ...

    async def handle_login(self, challenge: str, status: str, body: dict[str, Any], verifier: str
                           ) -> Row | None: ...

    async def spend_login_verifier(self, verifier: str) -> Row | None: ...

    async def start_consent(self, flow_id: str, challenge: str, csrf: str, skip: bool, subject: str,
                            session_id: str | None, authenticated_at: datetime) -> Row | None: ...

    async def handle_consent(self, challenge: str, status: str, body: dict[str, Any], verifier: str,
                             scope: list[str], audience: list[str], remember: bool, remember_for: int
                             ) -> Row | None: ...

    async def spend_consent_verifier(self, verifier: str) -> Row | None: ...

    async def insert_auth_code(self, signature: str, request_id: str, client_id: str, subject: str,
                               scope: list[str], audience: list[str], redirect_uri: str, code_challenge: str,
                               session: str | None, requested_at: datetime, expires_at: datetime) -> None: ...

    async def get_auth_code(self, signature: str) -> Row | None: ...

    async def exchange_code(self, code_signature: str, at: NewToken, rt: NewToken | None) -> bool:
        """Spend the code and write its tokens atomically; False when another exchange won."""
        ...


class SessionStorage(Protocol):
    """Login sessions and remembered consent (Hydra's consent.Manager session half)."""

    async def get_login_session(self, session_id: str) -> Row | None: ...

    async def upsert_login_session(self, session_id: str, subject: str, authenticated_at: datetime, remember: bool,
                                   expires_at: datetime) -> None: ...

    async def delete_login_session(self, session_id: str) -> None: ...

    async def delete_login_sessions_of_subject(self, subject: str) -> None: ...

    async def remembered_consent(self, subject: str, client_id: str) -> Row | None: ...

    async def forced_subject_known(self, subject: str, client_id: str, forced: str) -> bool:
        """Whether a completed sign-in of (subject, client) was accepted with this force_subject_identifier."""
        ...

    async def list_consent_sessions(self, subject: str, session_id: str | None, limit: int, offset: int
                                    ) -> Sequence[Row]: ...

    async def revoke_consent(self, subject: str, client_id: str | None) -> None: ...

    async def revoke_consent_by_challenge(self, challenge: str) -> None: ...


class KeyStorage(Protocol):
    """JSON Web Key sets; rows hold sealed JWK JSON under "keydata" (Hydra's jwk.Manager)."""

    async def get_key_set(self, set_id: str) -> Sequence[Row]: ...

    async def insert_key(self, set_id: str, kid: str, sealed: str) -> bool: ...

    async def insert_first_key(self, set_id: str, kid: str, sealed: str) -> bool:
        """Insert only into an empty set, so racing processes agree on one first key."""
        ...

    async def upsert_key(self, set_id: str, kid: str, sealed: str) -> None: ...

    async def replace_key_set(self, set_id: str, keys: list[tuple[str, str]]) -> None: ...

    async def delete_key_set(self, set_id: str) -> bool: ...

    async def delete_key(self, set_id: str, kid: str) -> bool: ...


class JtiStorage(Protocol):
    """JWT ids seen in client assertions and jwt-bearer grants (fosite's ClientAssertionJWTValid)."""

    async def spend_jti(self, signature: str, expires_at: datetime) -> bool:
        """Record a jti until `expires_at`; False when it is already recorded and not yet expired (a replay)."""
        ...


class RegistrationStorage(Protocol):
    """Dynamically registered clients, read and written under their registration access token (RFC 7592)."""

    async def get_client_registration(self, client_id: str) -> tuple[Client, str | None] | None:
        """The client and the signature of its registration access token (None when it has none)."""
        ...

    async def update_registered_client(self, client_id: str, old_signature: str, new_signature: str,
                                       metadata: dict[str, Any], now: datetime) -> Client | None:
        """Replace the metadata and rotate the token, only while `old_signature` is still the stored one."""
        ...

    async def delete_registered_client(self, client_id: str, signature: str) -> bool: ...


class TrustStorage(Protocol):
    """RFC 7523 trust relationships: issuer keys allowed to assert subjects (Hydra's trust.GrantManager)."""

    async def insert_trust(self, trust_id: UUID, issuer: str, subject: str, allow_any_subject: bool,
                           scope: list[str], key_id: str, jwk: dict[str, Any], created_at: datetime,
                           expires_at: datetime) -> bool:
        """False when (issuer, subject, key_id) is already trusted."""
        ...

    async def get_trust(self, trust_id: UUID) -> Row | None: ...

    async def delete_trust(self, trust_id: UUID) -> bool: ...

    async def list_trusts(self, limit: int, after: UUID, issuer: str | None) -> Sequence[Row]: ...

    async def trusted_keys(self, issuer: str, subject: str, key_id: str | None) -> Sequence[Row]:
        """Unexpired relationships of `issuer` covering `subject` (and `key_id` when given): jwk, scope, key_id."""
        ...


class DeviceStorage(Protocol):
    """The device authorization grant (fosite's RFC8628CoreStorage) and the device challenges of the browser."""

    async def insert_device_code(self, signature: str, user_code_signature: str, client_id: str, scope: list[str],
                                 audience: list[str], requested_at: datetime, expires_at: datetime) -> bool:
        """False when the user code collides with a stored one (draw another)."""
        ...

    async def get_device_code(self, signature: str) -> Row | None: ...

    async def poll_device_code(self, signature: str) -> Row | None:
        """Record a poll of a pending device code: (previous, polled_at), or None if it is not pending."""
        ...

    async def exchange_device_code(self, signature: str, at: NewToken, rt: NewToken | None) -> bool:
        """Spend the approved device code and write its tokens atomically; False when another poll won."""
        ...

    async def insert_device_challenge(self, challenge: str, csrf: str, request_url: str, client_ip: str,
                                      requested_at: datetime) -> None: ...

    async def get_device_challenge(self, challenge: str) -> Row | None: ...

    async def claim_user_code(self, challenge: str, client_ip: str, user_code_signature: str, verifier: str,
                              per_challenge: int, per_ip: int) -> tuple[str, str]:
        """("accepted", client_id), or ("wrong" | "limited" | "closed", "") — one transaction per IP."""
        ...

    async def device_verifier_csrf(self, verifier: str) -> str | None:
        """The CSRF value of an accepted, unspent device verifier (None if there is none)."""
        ...

    async def spend_device_verifier(self, verifier: str, csrf: str) -> Row | None:
        """Spend the verifier if it is unspent and still bound to `csrf` (checked by the caller beforehand)."""
        ...

    async def approve_device_code(self, signature: str, request_id: str, subject: str, scope: list[str],
                                  audience: list[str], session: str | None) -> bool: ...

    async def deny_device_code(self, kind: str, verifier: str) -> None:
        """Deny the device code of the flow whose just-spent login or consent verifier carried a rejection."""
        ...


class LogoutStorage(Protocol):
    """Ending a login session for logout, and the clients to notify (Hydra's ListClientsWithLogoutURLs…)."""

    async def end_login_session(self, session_id: str) -> str | None:
        """Delete the session; its subject, or None when it was already gone (another request ended it)."""
        ...

    async def logout_clients(self, session_id: str, subject: str) -> list[Client]:
        """Clients with a consent under this session and a front- or back-channel logout URI."""
        ...


class Repository(ClientStorage, TokenStorage, FlowStorage, SessionStorage, KeyStorage, JtiStorage,
                 RegistrationStorage, TrustStorage, DeviceStorage,
                 LogoutStorage, Protocol):
    """Everything the engine stores: what Engine.repo holds."""
