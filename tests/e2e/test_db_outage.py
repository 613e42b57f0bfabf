"""PostgreSQL goes away under a running server: 503s in each API's shape, then recovery without a restart
(issue 2 item 10; SECURITY.md §3, D8)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from hydralite.db import migrate
from tests.conftest import basic, run_server

DEADLINE = 60.0


@pytest.fixture
def own_postgres():
    """A private PostgreSQL we may stop and start (the shared one serves every other test)."""
    import pgserver

    root = Path(tempfile.mkdtemp(prefix="hydralite-outage-pg-"))
    server = pgserver.get_server(root / "pgdata", cleanup_mode="delete")
    try:
        yield server
    finally:
        server.cleanup()
        shutil.rmtree(root, ignore_errors=True)


def stop(pg) -> None:
    from pgserver._commands import pg_ctl

    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pg.pgdata, user=pg.system_user, timeout=30)


def start(pg) -> None:
    pg.ensure_postgres_running()


async def eventually(check, what: str):
    deadline = time.monotonic() + DEADLINE
    last = None
    while time.monotonic() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what} did not happen within {DEADLINE}s (last: {last!r})")


async def test_database_outage_and_recovery(own_postgres):
    dsn = own_postgres.get_uri()
    await migrate.up_dsn(dsn)
    with run_server(dsn) as srv:
        async with httpx.AsyncClient(base_url=srv.admin_url, timeout=30) as admin, \
                httpx.AsyncClient(base_url=srv.public_url, timeout=30) as public:
            r = await admin.post("/admin/clients", json={"client_secret": "outage-secret-1",
                                                         "grant_types": ["client_credentials"], "scope": "api"})
            assert r.status_code == 201, r.text
            cid = r.json()["client_id"]
            auth = basic(cid, "outage-secret-1")

            async def token():
                return await public.post("/oauth2/token", headers=auth,
                                         data={"grant_type": "client_credentials", "scope": "api"})

            first = await token()
            assert first.status_code == 200
            at = first.json()["access_token"]

            stop(own_postgres)
            try:
                r = await token()
                assert r.status_code == 503, r.text
                assert r.json()["error"] == "temporarily_unavailable"
                assert set(r.json()) == {"error", "error_description"}
                assert int(r.headers["retry-after"]) > 0
                assert r.headers["cache-control"] == "no-store"
                assert "Traceback" not in r.text and "asyncpg" not in r.text

                for request in (admin.get(f"/admin/clients/{cid}"), admin.get("/admin/clients"),
                                admin.post("/admin/clients", json={"client_name": "during-outage"}),
                                admin.post("/admin/oauth2/introspect", data={"token": at})):
                    r = await request
                    assert r.status_code == 503, r.text
                    assert set(r.json()) == {"error", "error_description"}
                    assert r.headers.get("retry-after")

                # D8: a revocation that cannot be stored must not answer 200
                r = await public.post("/oauth2/revoke", headers=auth, data={"token": at})
                assert r.status_code == 503 and r.json()["error"] == "temporarily_unavailable"

                for client, path in ((public, "/health/ready"), (admin, "/health/ready"),
                                     (admin, "/admin/health/ready")):
                    assert (await client.get(path)).status_code == 503
                assert (await public.get("/health/alive")).status_code == 200
            finally:
                start(own_postgres)
            assert own_postgres.get_uri() == dsn

            # no server restart: the same server serves again once PostgreSQL is back
            async def recovered():
                return (await token()).status_code == 200

            await eventually(recovered, "token issuance recovery")
            assert (await admin.get(f"/admin/clients/{cid}")).status_code == 200
            assert (await admin.get("/admin/health/ready")).status_code == 200
            assert (await public.get("/health/ready")).status_code == 200
            info = await admin.post("/admin/oauth2/introspect", data={"token": at})
            assert info.json()["active"] is True  # the failed revocation changed nothing
            assert srv.process.poll() is None


def restart(pg) -> None:
    from pgserver._commands import pg_ctl

    pg_ctl(["-w", "-m", "fast", "restart"], pgdata=pg.pgdata, user=pg.system_user, timeout=30)


async def test_postgres_restart_under_load(own_postgres):
    """SECURITY S1: a restart mid-load gives only 200s and 503s, never a 500, and the server recovers alone."""
    dsn = own_postgres.get_uri()
    await migrate.up_dsn(dsn)
    with run_server(dsn) as srv:
        async with httpx.AsyncClient(base_url=srv.admin_url, timeout=30) as admin, \
                httpx.AsyncClient(base_url=srv.public_url, timeout=30) as public:
            r = await admin.post("/admin/clients", json={"client_secret": "restart-secret-1",
                                                         "grant_types": ["client_credentials"], "scope": "api"})
            auth = basic(r.json()["client_id"], "restart-secret-1")
            token = (await public.post("/oauth2/token", headers=auth,
                                       data={"grant_type": "client_credentials"})).json()["access_token"]
            statuses: list[int] = []
            issued: list[str] = []
            stop_at = time.monotonic() + 8.0

            async def worker(n: int) -> None:
                while time.monotonic() < stop_at:
                    if n % 3:
                        resp = await public.post("/oauth2/token", headers=auth,
                                                 data={"grant_type": "client_credentials"})
                        if resp.status_code == 200:
                            issued.append(resp.json()["access_token"])
                    else:
                        resp = await admin.post("/admin/oauth2/introspect", data={"token": token})
                    statuses.append(resp.status_code)
                    if resp.status_code == 503:
                        assert resp.json()["error"] == "temporarily_unavailable"
                        await asyncio.sleep(0.05)

            load = [asyncio.create_task(worker(n)) for n in range(12)]
            await asyncio.sleep(2.0)
            await asyncio.to_thread(restart, own_postgres)
            await asyncio.gather(*load)

            assert set(statuses) <= {200, 503}, sorted(set(statuses))
            assert statuses.count(200) > 0
            # Recovered by itself: every later request succeeds.
            after = [await public.post("/oauth2/token", headers=auth, data={"grant_type": "client_credentials"})
                     for _ in range(5)]
            assert [a.status_code for a in after] == [200] * 5
            # Every token answered with 200 was durably written and still introspects active.
            for t in issued[-20:]:
                info = await admin.post("/admin/oauth2/introspect", data={"token": t})
                assert info.json()["active"] is True
