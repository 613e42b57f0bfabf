"""Prometheus metrics on the admin port, in Hydra's families (ory/x prometheusx), summed over two workers."""

from __future__ import annotations

import asyncio
import glob
import os
import time
import uuid
from pathlib import Path

import httpx
import pytest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import basic, run_server

TOKEN = "/oauth2/token"
#: Workers hand their counts to the shared files every 50 ms; a scrape polls for others' latest requests this long.
SETTLE_DEADLINE = 5.0
GO_BUCKETS = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1.0", "2.5", "5.0", "10.0", "+Inf"}


@pytest.fixture(scope="module")
async def server(postgres, template_db):
    """One server with two worker processes for the whole module."""
    dsn = await postgres.create_database(template_db)
    with run_server(dsn, "--workers", "2") as srv:
        yield srv


async def scrape(admin_url: str, path: str = "/admin/metrics/prometheus") -> dict[str, list]:
    async with httpx.AsyncClient(base_url=admin_url, timeout=30) as client:
        page = await client.get(path)
    assert page.status_code == 200, page.text
    assert page.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples: dict[str, list] = {}
    for family in text_string_to_metric_families(page.text):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def value(samples: dict[str, list], name: str, **labels: str) -> float:
    return sum(s.value for s in samples.get(name, []) if all(s.labels.get(k) == v for k, v in labels.items()))


async def scrape_until(admin_url: str, at_least: float, name: str, **labels: str) -> dict[str, list]:
    """Scrape until `name{labels}` reaches `at_least` or the deadline passes, and return the last page.
    The worker answering a scrape includes its own latest requests; the other worker's arrive within its flush
    interval. A request's other counts (tokens, cache hits, argon2) are handed over no later than its request
    count, so once that is reached the page has them too. The caller asserts the exact values."""
    deadline = time.monotonic() + SETTLE_DEADLINE
    while True:
        samples = await scrape(admin_url)
        if value(samples, name, **labels) >= at_least or time.monotonic() > deadline:
            return samples
        await asyncio.sleep(0.02)


def worker_token_counts(supervisor_pid: int) -> dict[int, float]:
    """Token requests each worker counted, read from its own multiprocess file (found through the
    supervisor's memory map), so the test knows both workers served before it checks the sum."""
    with open(f"/proc/{supervisor_pid}/maps") as fh:
        mapped = [line.split()[-1] for line in fh if "hydralite-metrics-" in line]
    assert mapped, "the supervisor has no multiprocess metrics file mapped"
    directory = os.path.dirname(mapped[0])
    counts: dict[int, float] = {}
    for path in glob.glob(os.path.join(directory, "counter_*.db")):
        pid = int(Path(path).stem.split("_")[1])
        if pid == supervisor_pid:
            continue
        total = 0.0
        for metric in MultiProcessCollector.merge([path]):
            for s in metric.samples:
                if s.name == "http_requests_total" and s.labels.get("endpoint") == TOKEN \
                        and s.labels.get("code") == "200":
                    total += s.value
        counts[pid] = total
    return counts


async def files_until(supervisor_pid: int, total: float) -> dict[int, float]:
    """Each worker's token counts read from the files alone, polled until they sum to `total`: no scrape
    flushes anything here, so this shows each worker hands its counts over on its own, on its timer."""
    deadline = time.monotonic() + SETTLE_DEADLINE
    while True:
        counts = worker_token_counts(supervisor_pid)
        if sum(counts.values()) >= total or time.monotonic() > deadline:
            return counts
        await asyncio.sleep(0.02)


async def make_client(admin_url: str) -> tuple[str, str]:
    secret = "metrics-secret-" + uuid.uuid4().hex
    async with httpx.AsyncClient(base_url=admin_url, timeout=30) as admin:
        created = await admin.post("/admin/clients", json={"client_secret": secret, "scope": "api",
                                                           "grant_types": ["client_credentials"]})
    assert created.status_code == 201, created.text
    return created.json()["client_id"], secret


async def token_requests(public_url: str, client_id: str, secret: str, n: int) -> None:
    """n token requests, each on a new connection, so that both workers' accept loops get some."""
    async def one() -> None:
        async with httpx.AsyncClient(base_url=public_url, timeout=30) as client:
            reply = await client.post(TOKEN, data={"grant_type": "client_credentials", "scope": "api"},
                                      headers=basic(client_id, secret))
        assert reply.status_code == 200, reply.text

    await asyncio.gather(*(one() for _ in range(n)))


async def test_token_requests_counted_by_route_and_status_over_both_workers(server):
    before = await scrape(server.admin_url)
    sent_before = value(before, "http_requests_total", endpoint=TOKEN, code="200", method="post")
    issued_before = value(before, "hydralite_tokens_issued_total", grant_type="client_credentials")
    client_id, secret = await make_client(server.admin_url)
    sent = 0
    for _ in range(20):  # until both workers have served token requests (the kernel picks the acceptor)
        await token_requests(server.public_url, client_id, secret, 12)
        sent += 12
        counts = await files_until(server.process.pid, sent_before + sent)
        if len(counts) == 2 and all(counts.values()):
            break
    assert len(counts) == 2 and all(counts.values()), counts
    assert sum(counts.values()) == sent_before + sent, counts
    middle = await scrape_until(server.admin_url, sent_before + sent, "http_requests_total", endpoint=TOKEN, code="200")
    await token_requests(server.public_url, client_id, secret, 12)  # both workers know the secret by now
    sent += 12
    after = await scrape_until(server.admin_url, sent_before + sent, "http_requests_total", endpoint=TOKEN, code="200")
    assert value(after, "http_requests_total", endpoint=TOKEN, code="200", method="post") - sent_before == sent
    assert value(after, "http_requests_duration_seconds_count", endpoint=TOKEN, code="200", method="post") \
        - value(before, "http_requests_duration_seconds_count", endpoint=TOKEN, code="200", method="post") == sent
    assert value(after, "hydralite_tokens_issued_total", grant_type="client_credentials") - issued_before == sent
    assert value(after, "http_requests_statuses_total", method="POST", status_bucket="2xx") >= sent
    assert value(after, "http_response_time_seconds_count", endpoint=TOKEN) >= sent
    # Hydra's constant labels and Go's default buckets, so Hydra's dashboards read these series.
    sample = next(s for s in after["http_requests_total"] if s.labels["endpoint"] == TOKEN)
    assert sample.labels["app"] == "hydralite" and {"version", "hash", "buildTime"} <= set(sample.labels)
    buckets = {s.labels["le"] for s in after["http_requests_duration_seconds_bucket"] if s.labels["endpoint"] == TOKEN}
    assert buckets == GO_BUCKETS
    # argon2 ran for the first requests only; once each worker had verified the secret, its caches answered.
    assert value(middle, "hydralite_argon2_verifications_total", result="match") \
        > value(before, "hydralite_argon2_verifications_total", result="match")
    assert value(after, "hydralite_argon2_verifications_total", result="match") \
        == value(middle, "hydralite_argon2_verifications_total", result="match")
    # ...and each of those 12 answers is counted as a verified-secret cache hit.
    assert value(after, "hydralite_secret_cache_hits_total") - value(middle, "hydralite_secret_cache_hits_total") == 12


async def test_failed_token_requests_counted_with_their_status(server):
    client_id, _ = await make_client(server.admin_url)
    before = await scrape(server.admin_url)
    async with httpx.AsyncClient(base_url=server.public_url, timeout=30) as client:
        for _ in range(3):
            reply = await client.post(TOKEN, data={"grant_type": "client_credentials"},
                                      headers=basic(client_id, "wrong-secret"))
            assert reply.status_code == 401
    after = await scrape_until(server.admin_url, value(before, "http_requests_total", endpoint=TOKEN, code="401") + 3,
                               "http_requests_total", endpoint=TOKEN, code="401")
    assert value(after, "http_requests_total", endpoint=TOKEN, code="401", method="post") \
        - value(before, "http_requests_total", endpoint=TOKEN, code="401", method="post") == 3
    assert value(after, "http_requests_statuses_total", method="POST", status_bucket="4xx") \
        - value(before, "http_requests_statuses_total", method="POST", status_bucket="4xx") >= 3
    assert value(after, "hydralite_argon2_verifications_total", result="mismatch") \
        - value(before, "hydralite_argon2_verifications_total", result="mismatch") == 3


async def test_endpoint_label_is_the_route_template_never_the_raw_path(server):
    client_id, _ = await make_client(server.admin_url)
    marker = uuid.uuid4().hex
    async with httpx.AsyncClient(base_url=server.admin_url, timeout=30) as admin:
        assert (await admin.get(f"/admin/clients/{client_id}", params={"q": marker})).status_code == 200
        assert (await admin.get(f"/clients/{client_id}")).status_code == 200  # no /admin prefix: same route
        assert (await admin.get(f"/admin/no-such-route/{marker}", params={"x": marker})).status_code == 404
    samples = await scrape_until(server.admin_url, 1, "http_requests_total", endpoint="/", code="404")
    samples = await scrape_until(server.admin_url, 2, "http_requests_total", endpoint="/admin/clients/{param}",
                                 code="200", method="get")
    endpoints = {s.labels.get("endpoint") for name in samples for s in samples[name]}
    assert value(samples, "http_requests_total", endpoint="/admin/clients/{param}", code="200", method="get") >= 2
    assert value(samples, "http_requests_total", endpoint="/", code="404", method="get") >= 1
    assert not any(e and (marker in e or client_id in e or "?" in e) for e in endpoints), endpoints


async def test_served_on_the_admin_port_only_also_without_prefix(server):
    samples = await scrape(server.admin_url, "/metrics/prometheus")
    assert "http_requests_total" in samples
    async with httpx.AsyncClient(base_url=server.public_url, timeout=30) as public:
        for path in ("/metrics/prometheus", "/admin/metrics/prometheus"):
            assert (await public.get(path)).status_code == 404


async def test_pool_gauges_cover_both_workers(server):
    samples = await scrape(server.admin_url)
    # Each worker's pool opens at least one connection and has a capacity: summed over the live workers.
    connections = value(samples, "hydralite_db_pool_connections")
    assert value(samples, "hydralite_db_pool_max_connections") >= connections >= 2
    assert value(samples, "hydralite_db_pool_waiters") == 0


async def test_database_errors_counted_by_type(server):
    client_id = "metrics-dup-" + uuid.uuid4().hex
    before = await scrape(server.admin_url)
    async with httpx.AsyncClient(base_url=server.admin_url, timeout=30) as admin:
        assert (await admin.post("/admin/clients", json={"client_id": client_id})).status_code == 201
        assert (await admin.post("/admin/clients", json={"client_id": client_id})).status_code == 409
    conflicts = {"endpoint": "/admin/clients", "code": "409"}
    after = await scrape_until(server.admin_url, value(before, "http_requests_total", **conflicts) + 1,
                               "http_requests_total", **conflicts)
    assert value(after, "hydralite_db_errors_total", error="UniqueViolationError") \
        - value(before, "hydralite_db_errors_total", error="UniqueViolationError") == 1
