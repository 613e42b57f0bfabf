"""Repository methods of logout: end a login session once, list the clients that took part in it, and keep the
logout requests (challenge, verifier, accepted/rejected/used) as Hydra v25 keeps them."""

from __future__ import annotations

from datetime import datetime
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

    async def insert_logout_request(self, challenge: str, verifier: str, subject: str, sid: str,
                                    client_id: str | None, request_url: str, redir_url: str, rp_initiated: bool,
                                    requested_at: datetime, expires_at: datetime) -> None:
        await self.execute("insert_logout_request", challenge, verifier, subject, sid, client_id, request_url,
                           redir_url, rp_initiated, requested_at, expires_at)

    async def get_logout_request(self, challenge: str) -> Any:
        return await self.fetchrow("get_logout_request", challenge, retry=True)

    async def accept_logout_request(self, challenge: str, now: datetime) -> Any:
        return await self.fetchrow("accept_logout_request", challenge, now)

    async def reject_logout_request(self, challenge: str, now: datetime) -> Any:
        return await self.fetchrow("reject_logout_request", challenge, now)

    async def use_logout_verifier(self, verifier: str) -> Any:
        return await self.fetchrow("use_logout_verifier", verifier)
