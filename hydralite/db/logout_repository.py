"""Repository methods of logout: end a login session once, and list the clients that took part in it."""

from __future__ import annotations

from typing import Any

from hydralite.db.store import PgStore
from hydralite.models import Client


def _client(row: Any) -> Client:
    return Client(id=row["id"], metadata=row["metadata"], secret_hash=row["secret_hash"],
                  rotated_secrets=tuple(row["rotated_secrets"]), created_at=row["created_at"],
                  updated_at=row["updated_at"])


class PgLogoutStore(PgStore):
    """LogoutStorage of engine.repository."""

    async def end_login_session(self, session_id: str) -> str | None:
        row = await self.fetchrow("end_login_session", session_id)
        return row["subject"] if row else None

    async def logout_clients(self, session_id: str, subject: str) -> list[Client]:
        return [_client(r) for r in await self.fetch("logout_clients", session_id, subject, retry=True)]
