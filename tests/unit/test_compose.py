"""compose.yaml, the Dockerfile and the packaging they rely on.

No Docker engine runs on our machines, so these tests check what can be checked without one:
the files parse, the services and commands are the ones the README documents, the DSN is one
hydralite accepts, and the image installs a package that carries its SQL files.
"""

from __future__ import annotations

import fnmatch
import re
import shlex
import tomllib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from hydralite.cli.main import build_parser
from hydralite.db.pool import parse_dsn

ROOT = Path(__file__).resolve().parents[2]
MIGRATE = "migrate sql up -e --yes"
SERVE = "serve all --dev"


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


def test_readme_configuration_table_lists_every_variable_config_reads():
    names = set(re.findall(r'"([A-Z][A-Z0-9_]*[A-Z0-9])"', (ROOT / "hydralite" / "config.py").read_text()))
    assert {"DSN", "SECRETS_SYSTEM", "SERVE_PUBLIC_PORT", "URLS_SELF_ISSUER"} <= names
    rows = set(re.findall(r"^\| `([A-Z][A-Z0-9_]*)` \|", (ROOT / "README.md").read_text(), re.MULTILINE))
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
    assert installs == [["."]]
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
