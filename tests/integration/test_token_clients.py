"""Access tokens and their client without a foreign key (migration 0007): deleting a client deletes its access
tokens in the same statement, and a token row whose client is gone (one that raced the deletion) is never read
as live."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hydralite.db.pool import create_pool
from hydralite.db.repository import PgRepository
from hydralite.models import NewToken

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
async def repo(fresh_dsn):
    pool = await create_pool(fresh_dsn + ("&" if "?" in fresh_dsn else "?") + "sslmode=disable&max_conns=2")
    try:
        yield PgRepository(pool)
    finally:
        await pool.close()


def _token(signature: str, client_id: str) -> NewToken:
    return NewToken(signature=signature, request_id="r-" + signature, client_id=client_id, subject=client_id,
                    scope=["api"], audience=[], requested_at=NOW, expires_at=NOW + timedelta(days=3650))


async def test_client_deletion_takes_its_access_tokens(repo):
    for client_id in ("keep", "gone"):
        await repo.insert_client(client_id, None, None, {"client_name": client_id}, NOW)
    await repo.insert_access_token(_token("s-keep", "keep"))
    await repo.insert_access_token(_token("s-gone", "gone"))
    assert await repo.delete_client("gone")
    assert await repo.get_access_token("s-gone") is None
    assert await repo.run(lambda c: c.fetchval("SELECT count(*) FROM hydralite_access_token WHERE client_id = 'gone'")
                          ) == 0
    assert (await repo.get_access_token("s-keep")).client_id == "keep"
    assert not await repo.delete_client("gone")


async def test_a_token_whose_client_is_gone_is_not_live(repo):
    await repo.insert_access_token(_token("s-orphan", "never-existed"))  # what a racing insert could leave
    assert await repo.get_access_token("s-orphan") is None


async def test_a_leftover_token_does_not_come_back_with_a_recreated_client(repo):
    """A token insert that raced a deletion leaves a row; re-creating a client with that id must not revive it."""
    await repo.insert_access_token(_token("s-raced", "reused-id"))  # the row a racing insert leaves behind
    await repo.insert_client("reused-id", None, None, {"client_name": "new"}, NOW)
    assert await repo.get_access_token("s-raced") is None
    await repo.insert_access_token(_token("s-new", "reused-id"))
    assert (await repo.get_access_token("s-new")).client_id == "reused-id"
