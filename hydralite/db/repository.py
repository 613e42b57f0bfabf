"""The PostgreSQL repository: short typed methods over the named queries in sql/queries.

Clients and tokens live here; flows, sessions and codes in flows_repository, key sets in
keys_repository; all share PgStore (db/store.py) for pooling and failure translation. The two statements of the
hot paths, the client_credentials token insert and the access-token look-up, are batched (db/batches.py): what
concurrent requests of a worker submit in one loop iteration goes to PostgreSQL as one statement. A batch's
database span (tracing) belongs to the trace of the request that opened the batch.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import asyncpg

from hydralite.db import migrate
from hydralite.db.batches import Batches
from hydralite.db.device_repository import PgDeviceStore
from hydralite.db.flows_repository import PgFlowStore
from hydralite.db.keys_repository import PgKeyStore
from hydralite.db.logout_repository import PgLogoutStore
from hydralite.db.queries import load
from hydralite.db.registration_repository import PgRegistrationStore
from hydralite.db.store import translate
from hydralite.db.trust_repository import PgTrustStore
from hydralite.models import Client, NewToken, TokenRecord

if TYPE_CHECKING:
    from hydralite.db.connections import Pool
    from hydralite.engine.repository import Repository

__all__ = ["PgRepository", "translate"]


def _client(row: asyncpg.Record) -> Client:
    return Client(id=row["id"], metadata=row["metadata"], secret_hash=row["secret_hash"],
                  rotated_secrets=tuple(row["rotated_secrets"]), created_at=row["created_at"],
                  updated_at=row["updated_at"])


def _token(row: asyncpg.Record) -> TokenRecord:
    return TokenRecord(signature=row["signature"], request_id=row["request_id"], client_id=row["client_id"],
                       subject=row["subject"], scope=list(row["scope"]), audience=list(row["audience"]),
                       session=row["session"], requested_at=row["requested_at"], expires_at=row["expires_at"],
                       active=row["active"], flow_id=row["flow_id"])


#: What the tokens of one batched insert share: client id, subject, scope, audience, flow id, the client's updated_at.
TokenGroup = tuple[str, str, tuple[str, ...], tuple[str, ...], str | None, datetime]


class PgRepository(PgFlowStore, PgKeyStore, PgRegistrationStore, PgTrustStore, PgDeviceStore,
                   PgLogoutStore):
    """Every store the engine uses, over one pool (checked against engine.repository.Repository below)."""

    def __init__(self, pool: Pool):
        super().__init__(pool)
        self._token_inserts: Batches[TokenGroup, NewToken, bool] = Batches(self._insert_tokens_if_client)
        self._token_reads: Batches[None, str, dict[str, TokenRecord]] = Batches(self._get_access_tokens)

    # health

    async def ping(self) -> list[str]:
        """Raise when the database is unreachable; return the migrations still pending."""
        return await self.run(migrate.pending, retry=True)

    # clients

    async def get_client(self, client_id: str) -> Client | None:
        row = await self.fetchrow("get_client", client_id, retry=True)
        return _client(row) if row else None

    async def insert_client(self, client_id: str, secret_hash: str | None, registration_signature: str | None,
                            metadata: dict[str, Any], now: datetime) -> Client:
        row = await self.fetchrow("insert_client", client_id, metadata.get("client_name", ""),
                                  metadata.get("owner", ""), secret_hash, registration_signature, metadata, now)
        assert row is not None
        return _client(row)

    async def update_client(self, client_id: str, secret_hash: str | None, metadata: dict[str, Any],
                            now: datetime) -> Client | None:
        row = await self.fetchrow("update_client", client_id, metadata.get("client_name", ""),
                                  metadata.get("owner", ""), secret_hash, metadata, now)
        return _client(row) if row else None

    async def delete_client(self, client_id: str) -> bool:
        return await self.fetchrow("delete_client", client_id) is not None

    async def list_clients(self, limit: int, after: str, name: str | None, owner: str | None) -> list[Client]:
        return [_client(r) for r in await self.fetch("list_clients", limit, after, name, owner, retry=True)]

    # tokens

    async def insert_access_token(self, t: NewToken) -> None:
        await self.execute("insert_access_token", t.signature, t.request_id, t.client_id, t.subject, t.scope,
                           t.audience, t.session, t.flow_id, t.requested_at, t.expires_at)

    async def insert_access_token_if_client(self, t: NewToken, client_updated_at: datetime) -> bool:
        # Concurrent tokens of one client go in one statement (db/batches.py).
        group = (t.client_id, t.subject, tuple(t.scope), tuple(t.audience), t.flow_id, client_updated_at)
        return await self._token_inserts.submit(group, t)

    async def _insert_tokens_if_client(self, group: TokenGroup, tokens: list[NewToken]) -> bool:
        client_id, subject, scope, audience, flow_id, updated_at = group
        status = await self.execute("insert_access_tokens_if_client", [t.signature for t in tokens],
                                    [t.request_id for t in tokens], [t.session for t in tokens],
                                    [t.requested_at for t in tokens], [t.expires_at for t in tokens], client_id,
                                    subject, list(scope), list(audience), flow_id, updated_at)
        return status != "INSERT 0 0"  # the command tag: every row, or none when the client row changed

    async def get_access_token(self, signature: str) -> TokenRecord | None:
        # Concurrent look-ups go in one statement (db/batches.py).
        return (await self._token_reads.submit(None, signature)).get(signature)

    async def _get_access_tokens(self, _: None, signatures: list[str]) -> dict[str, TokenRecord]:
        rows = await self.fetch("get_access_tokens", signatures, retry=True)
        return {row["signature"]: _token(row) for row in rows}

    async def get_refresh_token(self, signature: str) -> TokenRecord | None:
        row = await self.fetchrow("get_refresh_token", signature, retry=True)
        return _token(row) if row else None

    async def revoke_request(self, request_id: str) -> None:
        await self.execute("revoke_request", request_id)

    async def delete_client_access_tokens(self, client_id: str) -> None:
        await self.execute("delete_client_access_tokens", client_id)

    # JWT ids (assertions)

    async def spend_jti(self, signature: str, expires_at: datetime) -> bool:
        return await self.fetchrow("spend_jti", signature, expires_at) is not None


#: The hot paths' statements with arguments that touch no row (db/pool.py runs them on each new connection of the
#: server): asyncpg looks up their parameter types (about 8 ms for the token insert's arrays) and prepares them
#: then, instead of under the first requests after a start.
_WARM_UP: tuple[tuple[str, tuple[Any, ...]], ...] = (
    ("get_client", ("",)),
    ("get_access_tokens", ([],)),
    ("insert_access_tokens_if_client", ([], [], [], [], [], "", "", [], [], None, datetime.fromtimestamp(0, UTC))),
)


async def warm_up(conn: asyncpg.Connection) -> None:
    """Prepare the hot statements on a new connection (before the migrations ran they cannot be: skipped)."""
    queries = load()
    try:
        for name, args in _WARM_UP:
            # Executed, not prepared: asyncpg's prepare() leaves the statement's implicit transaction, and its lock
            # on the table, open until the connection's next statement (a TRUNCATE elsewhere would wait for it).
            await conn.execute(queries[name], *args)
    except asyncpg.PostgresError:
        return


if TYPE_CHECKING:
    def _implements(pool: Pool) -> Repository:
        """mypy checks here that PgRepository provides every storage method the engine declares."""
        return PgRepository(pool)
