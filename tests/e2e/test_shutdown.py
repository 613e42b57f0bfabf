"""SIGTERM drains in-flight requests, closes the pool and exits 0 (one worker and two)."""

from __future__ import annotations

import asyncio
import signal

import httpx
import pytest

from tests.conftest import basic, run_server


@pytest.mark.parametrize("workers", ["1", "2"])
async def test_sigterm_drains_in_flight_requests(postgres, template_db, workers):
    dsn = await postgres.create_database(template_db)
    with run_server(dsn, HYDRALITE_WORKERS=workers, HYDRALITE_ARGON2_TIME_COST="6") as srv:
        async with httpx.AsyncClient(base_url=srv.admin_url, timeout=30) as admin:
            clients = []
            for i in range(12):
                created = await admin.post("/admin/clients", json={
                    "client_secret": f"drain-secret-{i}-xxxx", "grant_types": ["client_credentials"]})
                clients.append(created.json())
        async with httpx.AsyncClient(base_url=srv.public_url, timeout=30,
                                     limits=httpx.Limits(max_connections=20)) as public:
            # First authentications pay argon2 (slow on purpose here), so they are in flight at SIGTERM.
            tasks = [asyncio.create_task(public.post("/oauth2/token", data={"grant_type": "client_credentials"},
                                                     headers=basic(c["client_id"], c["client_secret"])))
                     for c in clients]
            await asyncio.sleep(0.3)
            srv.process.send_signal(signal.SIGTERM)
            results = await asyncio.gather(*tasks, return_exceptions=True)
        statuses = [r.status_code if isinstance(r, httpx.Response) else type(r).__name__ for r in results]
        assert statuses == [200] * len(clients), srv.log()
        assert await asyncio.to_thread(srv.process.wait, 30) == 0
    # No session of the drained server is left behind in PostgreSQL.
    import asyncpg

    conn = await asyncpg.connect(postgres.dsn)
    try:
        left = await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = $1",
                                   dsn.rsplit("/", 1)[-1].split("?")[0])
    finally:
        await conn.close()
    assert left == 0
