"""pytest plugin (entry point `pytest11 = hydralite`): fixtures `hydralite_server`, `hydralite`, `hydralite_async`.

Loading it only registers options, a marker and a report hook; nothing starts and nothing heavy is imported
until a test asks for a fixture.

Options (pytest.ini, or the command line, which wins):
  hydralite_dsn / --hydralite-dsn              an external PostgreSQL instead of the embedded one (migrated here;
                                               reset() truncates it)
  hydralite_config / --hydralite-config        configuration files with Hydra's keys (passed as `-c`)
  hydralite_settings / --hydralite-set K=V     Hydra keys (`ttl.access_token=5m`) or env names (`TTL_ACCESS_TOKEN=5m`)
  hydralite_workers / --hydralite-workers      worker processes (default 1)
  hydralite_start_timeout                      seconds to wait for readiness (default 60)
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from hydralite.testing.client import AsyncHydralite, Hydralite
    from hydralite.testing.server import HydraliteServer

_SERVER = pytest.StashKey[Any]()
#: Lines of the server log attached to a failed test's report.
LOG_TAIL = 200


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hydralite", "hydralite test server (fixtures hydralite_server, hydralite)")
    group.addoption("--hydralite-dsn", dest="hydralite_dsn", default=None,
                    help="PostgreSQL DSN for the test server instead of an embedded database")
    group.addoption("--hydralite-config", dest="hydralite_config", action="append", default=[], metavar="FILE",
                    help="configuration file with Hydra's keys for the test server (repeatable)")
    group.addoption("--hydralite-set", dest="hydralite_set", action="append", default=[], metavar="KEY=VALUE",
                    help="one Hydra configuration key for the test server, e.g. ttl.access_token=5m (repeatable)")
    group.addoption("--hydralite-workers", dest="hydralite_workers", type=int, default=None,
                    help="worker processes of the test server")
    parser.addini("hydralite_dsn", "PostgreSQL DSN for the test server (default: an embedded database)", default="")
    parser.addini("hydralite_config", "configuration files for the test server", type="paths", default=[])
    parser.addini("hydralite_settings", "KEY=VALUE lines of Hydra configuration for the test server",
                  type="linelist", default=[])
    parser.addini("hydralite_workers", "worker processes of the test server", default="1")
    parser.addini("hydralite_start_timeout", "seconds to wait for the test server to be ready", default="60")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "hydralite_reset: empty hydralite's tables before this test")


def _pairs(lines: list[str], where: str) -> dict[str, str]:
    pairs = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise pytest.UsageError(f"{where}: expected KEY=VALUE, got {line!r}")
        pairs[key.strip()] = value.strip()
    return pairs


@pytest.fixture(scope="session")
def hydralite_settings(pytestconfig: pytest.Config) -> dict[str, str]:
    """Hydra keys for the session's server: ini `hydralite_settings`, then `--hydralite-set`.

    Override it in a conftest.py to return a dict of your own (it may request itself to extend the default).
    """
    settings = _pairs(list(pytestconfig.getini("hydralite_settings")), "hydralite_settings")
    settings.update(_pairs(pytestconfig.getoption("hydralite_set") or [], "--hydralite-set"))
    return settings


@pytest.fixture(scope="session")
def hydralite_server(pytestconfig: pytest.Config, hydralite_settings: dict[str, str]) -> Iterator[HydraliteServer]:
    """A hydralite server for the whole session on free 127.0.0.1 ports, stopped by PID at the end."""
    from hydralite.testing.server import ServerOptions, start

    files = [str(p) for p in pytestconfig.getini("hydralite_config")]
    files += [str(pytestconfig.invocation_params.dir / f) for f in pytestconfig.getoption("hydralite_config") or []]
    workers = pytestconfig.getoption("hydralite_workers") or int(pytestconfig.getini("hydralite_workers") or 1)
    options = ServerOptions(
        dsn=pytestconfig.getoption("hydralite_dsn") or pytestconfig.getini("hydralite_dsn") or None,
        config_files=files, settings=dict(hydralite_settings), workers=workers,
        start_timeout=float(pytestconfig.getini("hydralite_start_timeout") or 60))
    server = start(options)
    pytestconfig.stash[_SERVER] = server
    try:
        yield server
    finally:
        del pytestconfig.stash[_SERVER]
        server.stop()


@pytest.fixture
def hydralite(hydralite_server: HydraliteServer, request: pytest.FixtureRequest) -> Iterator[Hydralite]:
    """Admin/public API helpers; clients are named `<test>-<random>:…` and deleted after the test."""
    from hydralite.testing.client import Hydralite

    kit = Hydralite(hydralite_server, name_prefix=f"{request.node.name[:60]}-{secrets.token_hex(3)}:")
    if request.node.get_closest_marker("hydralite_reset") is not None:
        kit.reset()
    try:
        yield kit
    finally:
        kit.close()


@pytest.fixture
def hydralite_async(hydralite: Hydralite) -> AsyncHydralite:
    """`hydralite` for async tests: the same helpers as coroutines."""
    from hydralite.testing.client import AsyncHydralite

    return AsyncHydralite(hydralite)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Attach the tail of the server log to the report of a failed test that used the server."""
    report = yield
    if report.failed and "hydralite_server" in getattr(item, "fixturenames", ()):
        server = item.config.stash.get(_SERVER, None)
        if server is not None:
            report.sections.append(("hydralite server log", server.log(tail=LOG_TAIL)))
    return report
