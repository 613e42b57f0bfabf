"""Repository methods for dynamically registered clients (RFC 7592 reads and writes by registration token)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hydralite.db.store import PgStore
from hydralite.models import Client


def _client(row: Any) -> Client:
    return Client(id=row["id"], metadata=row["metadata"], secret_hash=row["secret_hash"],
                  rotated_secrets=tuple(row["rotated_secrets"]), created_at=row["created_at"],
                  updated_at=row["updated_at"])


class PgRegistrationStore(PgStore):
    """RegistrationStorage of engine.repository."""

    async def get_client_registration(self, client_id: str) -> tuple[Client, str | None] | None:
        row = await self.fetchrow("get_client_registration", client_id, retry=True)
        return (_client(row), row["registration_token_signature"]) if row else None

    async def update_registered_client(self, client_id: str, old_signature: str, new_signature: str,
                                       metadata: dict[str, Any], now: datetime) -> Client | None:
        row = await self.fetchrow("update_registered_client", client_id, old_signature, new_signature,
                                  metadata.get("client_name", ""), metadata.get("owner", ""), metadata, now)
        return _client(row) if row else None

    async def delete_registered_client(self, client_id: str, signature: str) -> bool:
        return await self.fetchrow("delete_registered_client", client_id, signature) is not None
