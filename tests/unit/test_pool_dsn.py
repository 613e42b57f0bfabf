"""DSNs written for Hydra: its options size the pool and never reach PostgreSQL as session settings."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from hydralite.db.pool import DEFAULT_MAX_SIZE, parse_dsn


def test_hydra_options_set_the_pool_and_are_removed():
    s = parse_dsn("postgres://hydra:secret@db:5432/hydra?sslmode=disable&max_conns=20&max_idle_conns=4"
                  "&max_conn_lifetime=1h")
    assert s.max_size == 20
    assert s.min_size == 4
    assert s.max_inactive_lifetime == 3600
    parts = urlsplit(s.dsn)
    assert parts.scheme == "postgresql"
    assert parts.netloc == "hydra:secret@db:5432" and parts.path == "/hydra"
    assert parse_qs(parts.query) == {"sslmode": ["disable"]}


def test_seed_dsn_of_the_quickstart():
    s = parse_dsn("postgres://hydra:secret@postgresd:5432/hydra?sslmode=disable&max_conns=20&max_idle_conns=4")
    assert (s.max_size, s.min_size) == (20, 4)
    assert "max_conns" not in s.dsn and "max_idle_conns" not in s.dsn and "sslmode=disable" in s.dsn


def test_unknown_and_pop_options_are_dropped():
    s = parse_dsn("postgres://u@h/db?search_path=x&max_conn_idle_time=30s&application_name=hl&connect_timeout=3")
    assert urlsplit(s.dsn).query == ""
    assert s.max_inactive_lifetime == 30 and s.application_name == "hl" and s.connect_timeout == 3


def test_defaults_and_bounds():
    s = parse_dsn("postgresql://u@h/db")
    assert s.max_size == DEFAULT_MAX_SIZE and 1 <= s.min_size <= s.max_size
    s = parse_dsn("postgres://u@h/db?max_conns=3&max_idle_conns=10")
    assert s.max_size == 3 and s.min_size == 3
    assert parse_dsn("cockroach://u@h/db").dsn.startswith("postgresql://")


def test_unsupported_scheme():
    with pytest.raises(ValueError, match="unsupported DSN scheme"):
        parse_dsn("mysql://u@h/db")


@pytest.mark.parametrize("query", ["max_conns=abc", "max_idle_conns=1.5", "max_conn_lifetime=forever"])
def test_bad_option_values_name_the_option(query):
    with pytest.raises(ValueError, match="invalid DSN option"):
        parse_dsn(f"postgres://u@h/db?{query}")


@pytest.mark.parametrize(("dsn_option", "workers", "share"), [
    ("max_conns=20", 2, 10), ("max_conns=20", 3, 6), ("max_conns=1", 4, 1), ("", 2, DEFAULT_MAX_SIZE // 2)])
def test_max_conns_bounds_the_server_so_each_worker_opens_its_share(dsn_option, workers, share):
    from hydralite.config import load
    from hydralite.server import _share_pool

    config = load({"DSN": "memory"}, dev=True)
    assert _share_pool(config, f"postgres://h@db/hydra?{dsn_option}", workers).pool_max_size == share


def test_an_explicit_pool_size_is_the_total_too():
    import dataclasses

    from hydralite.config import load
    from hydralite.server import _share_pool

    config = dataclasses.replace(load({"DSN": "memory"}, dev=True), pool_max_size=9)
    assert _share_pool(config, "postgres://h@db/hydra?max_conns=20", 2).pool_max_size == 4


@pytest.mark.parametrize(("dsn", "netloc", "query"), [
    # libpq and pgx: the `host` query parameter wins over the URI's host; the URI's port still applies.
    ("postgres://u:p@db:5433/hydra?host=/run/pg", "u:p@", {"host": ["/run/pg"], "port": ["5433"]}),
    ("postgres://u:p@db:5433/hydra?host=/run/pg&port=6000", "u:p@", {"host": ["/run/pg"], "port": ["6000"]}),
    ("postgres://db/hydra?host=/run/pg", "", {"host": ["/run/pg"]}),
    ("postgres://u@/hydra?host=/run/pg", "u@", {"host": ["/run/pg"]}),
    ("postgres://u:p@[::1]:5433/hydra?sslmode=disable", "u:p@[::1]:5433", {"sslmode": ["disable"]}),
    ("postgres://u:p@h1:5432,h2:5433/hydra?host=/run/pg", "u:p@h1:5432,h2:5433", {"host": ["/run/pg"]}),
])
def test_a_host_query_parameter_overrides_the_uris_host(dsn, netloc, query):
    parts = urlsplit(parse_dsn(dsn).dsn)
    assert (parts.netloc, parts.path, parse_qs(parts.query)) == (netloc, "/hydra", query)
