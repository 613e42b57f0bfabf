"""compose.yaml, the Dockerfile and the packaging they rely on.

No Docker engine runs on our machines, so these tests check what can be checked without one:
the files parse, the services and commands are the ones the README documents, the DSN is one
hydralite accepts, and the image installs a package that carries its SQL files. The overlays
(compose.prometheus.yaml, compose.tracing.yaml) are checked the same way, and merged by
`docker compose config` where the compose client is installed (it needs no engine).
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
import shutil
import subprocess
import tomllib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from hydralite.cli.main import build_parser
from hydralite.config import load
from hydralite.db.pool import parse_dsn
from hydralite.ops import tracing

ROOT = Path(__file__).resolve().parents[2]
MIGRATE = "migrate sql up -e --yes"
SERVE = "serve all --dev"
PROMETHEUS = "compose.prometheus.yaml"
TRACING = "compose.tracing.yaml"
#: Hydra's metrics page on the admin port (ory/x prometheusx behind Hydra's admin prefix).
METRICS_PATH = "/admin/metrics/prometheus"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1]) for line in lines
            if line and not line.startswith("#")]


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return env


def _command(service: dict) -> str:
    command = service["command"]
    return command if isinstance(command, str) else shlex.join(command)


def test_services_are_the_quickstart_three(compose):
    assert set(compose["services"]) == {"postgresd", "hydralite-migrate", "hydralite"}


def test_postgres_service(compose):
    pg = compose["services"]["postgresd"]
    assert pg["image"].startswith("postgres:16")
    env = _env(pg)
    assert env["POSTGRES_USER"] == "hydra" and env["POSTGRES_PASSWORD"] == "secret" and env["POSTGRES_DB"] == "hydra"
    assert "pg_isready" in " ".join(pg["healthcheck"]["test"])


def test_migrate_is_one_shot_after_postgres_is_healthy(compose):
    migrate = compose["services"]["hydralite-migrate"]
    assert _command(migrate) == MIGRATE
    assert migrate["restart"] == "on-failure"
    assert migrate["depends_on"] == {"postgresd": {"condition": "service_healthy"}}
    assert migrate["image"] == "hydralite"


def test_server_serves_after_migrations(compose):
    server = compose["services"]["hydralite"]
    assert _command(server) == SERVE
    assert server["image"] == "hydralite" and server["build"] == "."
    assert sorted(server["ports"]) == ["3000:3000", "4444:4444", "4445:4445"]  # public, admin, example UI
    assert server["depends_on"] == {"hydralite-migrate": {"condition": "service_completed_successfully"}}
    env = _env(server)
    assert env["URLS_SELF_ISSUER"] == "http://127.0.0.1:4444"
    assert len(env["SECRETS_SYSTEM"]) >= 16  # hydralite refuses shorter system secrets
    assert "SERVE_PUBLIC_HOST" not in env and "SERVE_ADMIN_HOST" not in env  # all interfaces in the container


def test_both_services_use_one_dsn_that_hydralite_accepts(compose):
    services = compose["services"]
    dsn = _env(services["hydralite"])["DSN"]
    assert _env(services["hydralite-migrate"])["DSN"] == dsn
    parts = urlsplit(dsn)
    pg = _env(services["postgresd"])
    assert parts.hostname == "postgresd" and parts.port == 5432
    assert (parts.username, parts.password, parts.path) == (pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"],
                                                            "/" + pg["POSTGRES_DB"])
    assert parse_qs(parts.query) == {"sslmode": ["disable"], "max_conns": ["20"], "max_idle_conns": ["4"]}
    settings = parse_dsn(dsn)
    assert settings.max_size == 20 and settings.min_size == 4
    assert "max_conns" not in settings.dsn and "sslmode=disable" in settings.dsn


@pytest.mark.parametrize("service", ["hydralite", "hydralite-migrate"])
def test_commands_parse_with_the_hydralite_cli(compose, service):
    args = build_parser().parse_args(shlex.split(_command(compose["services"][service])))
    assert callable(args.func)
    if service == "hydralite":
        assert (args.command, args.which, args.dev) == ("serve", "all", True)
    else:
        assert (args.command, args.action, args.read_from_env, args.yes) == ("migrate", "up", True, True)


def test_readme_documents_the_compose_commands():
    readme = (ROOT / "README.md").read_text()
    assert "docker compose up" in readme
    assert MIGRATE in readme and SERVE in readme


def _variables_config_reads() -> set[str]:
    """Every environment name the configuration reads (config/environment.py parses them all)."""
    source = (ROOT / "hydralite" / "config" / "environment.py").read_text()
    return set(re.findall(r'"([A-Z][A-Z0-9_]*[A-Z0-9])"', source))


def test_readme_configuration_table_lists_every_variable_config_reads():
    names = _variables_config_reads()
    assert {"DSN", "SECRETS_SYSTEM", "SERVE_PUBLIC_PORT", "URLS_SELF_ISSUER", "TRACING_PROVIDER"} <= names
    rows: set[str] = set()
    for doc in ("README.md", "docs/configuration.md"):  # the full table of keys lives in docs/configuration.md
        for line in (ROOT / doc).read_text().splitlines():
            if line.startswith("|"):
                rows |= set(re.findall(r"`([A-Z][A-Z0-9_]*)`", line))
    assert sorted(names - rows) == []


def test_dockerfile_runs_the_hydralite_console_script(dockerfile):
    instructions = dict(dockerfile)
    assert instructions["FROM"] == "python:3.11-slim"
    assert instructions["ENTRYPOINT"] == '["hydralite"]'
    assert instructions["CMD"] == '["serve", "all"]'
    assert set(instructions["EXPOSE"].split()) == {"4444", "4445"}
    assert instructions["USER"] not in ("root", "0")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert pyproject["project"]["scripts"]["hydralite"] == "hydralite.cli.main:main"
    assert pyproject["project"]["requires-python"] == ">=3.11"


def test_dockerfile_installs_the_project_itself(dockerfile):
    """`pip install .` installs exactly pyproject's dependencies; no second, drifting package list."""
    runs = [args for name, args in dockerfile if name == "RUN"]
    installs = [shlex.split(cmd.split("pip install", 1)[1].split("&&")[0]) for cmd in runs if "pip install" in cmd]
    assert installs == [[".[tracing]"]]  # the extra compose.tracing.yaml needs, declared in pyproject
    assert "tracing" in tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    copies = [args for name, args in dockerfile if name == "COPY"]
    assert copies and copies[0].split()[0] == "."


def test_dockerignore_keeps_what_the_build_needs():
    patterns = [line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    needed = ["pyproject.toml", "README.md", "hydralite/__init__.py", "hydralite/cli/main.py",
              "sql/migrations/0001_initial.sql", "sql/queries/clients.sql"]
    for path in needed:
        assert (ROOT / path).exists(), path
        assert not any(fnmatch.fnmatch(path, p) or path.startswith(p.rstrip("/") + "/") for p in patterns), path
    assert ".venv" in patterns and ".git" in patterns


def test_wheel_carries_the_sql_files():
    """The installed package finds its migrations and queries in hydralite/sql (see db/queries.py)."""
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wheel = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["packages"] == ["hydralite"]
    assert wheel["force-include"] == {"sql": "hydralite/sql"}
    assert list((ROOT / "sql" / "migrations").glob("*.sql")) and list((ROOT / "sql" / "queries").glob("*.sql"))


# -- overlays: docker compose -f compose.yaml -f compose.X.yaml up ------------------------------------------------


@pytest.fixture(scope="module")
def overlays() -> dict[str, dict]:
    return {name: yaml.safe_load((ROOT / name).read_text()) for name in (PROMETHEUS, TRACING)}


def _server_config(compose: dict, *overlay_services: dict):
    """The Config hydralite builds in the container from the merged environment (overlay values win)."""
    env = dict(_env(compose["services"]["hydralite"]))
    for service in overlay_services:
        env.update(_env(service))
    return load(env, dev=True)  # the command is `serve all --dev`


def test_overlays_add_their_services_and_extend_only_hydralite(compose, overlays):
    base = set(compose["services"])
    assert set(overlays[PROMETHEUS]["services"]) == {"prometheus"}
    assert set(overlays[TRACING]["services"]) == {"hydralite", "jaeger"}
    for overlay in overlays.values():
        assert set(overlay) == {"services"}  # no networks or volumes of their own: the base's default network
        names = base | set(overlay["services"])
        for name, service in overlay["services"].items():
            if name in base:  # an extension of the base service: no second image or build of it
                assert not {"image", "build", "command"} & set(service), name
            else:
                assert "image" in service and ":" in service["image"], name  # a pinned tag, not latest
            assert set(service.get("depends_on", {})) <= names, name


def test_prometheus_scrapes_the_admin_port_metrics_page(compose, overlays):
    prometheus = overlays[PROMETHEUS]["services"]["prometheus"]
    assert prometheus["image"].startswith("prom/prometheus:")
    assert prometheus["ports"] == ["9090:9090"]
    assert prometheus["depends_on"] == {"hydralite": {"condition": "service_started"}}
    (mount,) = prometheus["volumes"]
    source, target = mount.split(":")[:2]
    assert _command(prometheus) == f"--config.file={target}"
    config = yaml.safe_load((ROOT / source).read_text())  # the file the volume mounts exists and parses
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "hydralite"]
    assert job["metrics_path"] == METRICS_PATH
    (target_address,) = [address for group in job["static_configs"] for address in group["targets"]]
    host, port = target_address.rsplit(":", 1)
    assert host in compose["services"]  # a service name, resolved on the compose network
    server = _server_config(compose)
    assert int(port) == server.admin_port != server.public_port  # the admin port, where hydralite serves metrics
    assert not server.admin_host  # listening on all interfaces, so reachable from the prometheus container


def test_tracing_sends_otlp_to_jaeger_with_names_hydralite_reads(compose, overlays):
    services = overlays[TRACING]["services"]
    jaeger = services["jaeger"]
    assert jaeger["image"].startswith("jaegertracing/all-in-one:")
    assert jaeger["ports"] == ["16686:16686"]  # the UI; OTLP (4318) stays inside the compose network
    assert _env(jaeger)["COLLECTOR_OTLP_ENABLED"] == "true"
    assert services["hydralite"]["depends_on"] == {"jaeger": {"condition": "service_started"}}
    variables = _env(services["hydralite"])
    assert set(variables) <= _variables_config_reads()  # a misspelt name would silently trace nothing
    server = _server_config(compose, services["hydralite"])
    assert tracing.enabled(server) and server.tracing_service_name == "hydralite"
    assert server.tracing_otlp_insecure and server.tracing_sampling_ratio == 1.0
    assert tracing.endpoint(server) == "http://jaeger:4318/v1/traces"  # Jaeger's OTLP/HTTP receiver
    assert _env(compose["services"]["hydralite"]).keys().isdisjoint(variables)  # adds to the base, overrides nothing


def test_readme_documents_the_overlays():
    readme = (ROOT / "README.md").read_text()
    for overlay in (PROMETHEUS, TRACING):
        assert f"docker compose -f compose.yaml -f {overlay} up" in readme


def _docker_compose() -> str:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no docker client")
    if subprocess.run([docker, "compose", "version"], capture_output=True, timeout=30).returncode != 0:
        pytest.skip("the docker client has no compose plugin")
    return docker


@pytest.mark.parametrize("overlay", [PROMETHEUS, TRACING])
def test_docker_compose_merges_the_overlay(compose, overlays, overlay):
    """`docker compose config` merges and validates the files without an engine."""
    docker = _docker_compose()
    done = subprocess.run([docker, "compose", "-f", "compose.yaml", "-f", overlay, "config", "--format", "json"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    merged = json.loads(done.stdout)["services"]
    assert set(merged) == set(compose["services"]) | set(overlays[overlay]["services"])
    server = merged["hydralite"]
    assert server["environment"]["DSN"] == _env(compose["services"]["hydralite"])["DSN"]
    assert "hydralite-migrate" in server["depends_on"]
    if overlay == TRACING:
        assert server["environment"]["TRACING_PROVIDER"] == "otel" and "jaeger" in server["depends_on"]
