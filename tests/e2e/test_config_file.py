"""`-c FILE` end to end: `serve all` takes its settings from a YAML file, a later file and the environment
override it, a bad file stops the start with one line and exit status 1; `migrate sql up -c` and
`janitor -c` read the DSN from the file."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ROOT, SCRATCH, TEST_SECRET, basic, free_port, stop, wait_ready

#: Prefixes of every Hydra setting, kept out of the child's environment so the file is what configures it.
HYDRA_PREFIXES = ("DSN", "DEV", "SECRETS_", "SERVE_", "URLS_", "TTL_", "STRATEGIES_", "OAUTH2_", "OIDC_", "LOG_",
                  "TRACING_")


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(HYDRA_PREFIXES)}
    env["HYDRALITE_DATA_DIR"] = tempfile.mkdtemp(prefix="data-", dir=SCRATCH)
    env.update(extra)
    return env


def sample_yaml(dsn: str, public_port: int, admin_port: int) -> str:
    """A file like docs/configuration.md's sample, on free ports; JSON strings are valid YAML scalars."""
    return f"""
version: v2.2.0
dev: true
dsn: {json.dumps(dsn)}
serve:
  public:
    host: 127.0.0.1
    port: {public_port}
  admin:
    host: 127.0.0.1
    port: {admin_port}
urls:
  self:
    issuer: http://from-file.localhost:{public_port}/
  login: http://127.0.0.1:9/login
  consent: http://127.0.0.1:9/consent
  logout: http://127.0.0.1:9/logout
secrets:
  system: [{TEST_SECRET}]
ttl:
  access_token: 7m
oauth2:
  hashers:
    algorithm: pbkdf2
"""


def write(name: str, text: str) -> str:
    path = Path(tempfile.mkdtemp(prefix="conf-", dir=SCRATCH)) / name
    path.write_text(text)
    return str(path)


@contextlib.contextmanager
def serve(files: list[str], admin_port: int, env: dict[str, str]) -> Iterator[Path]:
    """`hydralite serve all -c …` configured only by its files (and `env`); stopped by PID."""
    log_path = Path(tempfile.mkstemp(prefix="server-", suffix=".log", dir=SCRATCH)[1])
    args = [a for f in files for a in ("-c", f)]
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "hydralite", "serve", "all", *args], env=env,
                                   stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        wait_ready(f"http://127.0.0.1:{admin_port}/health/ready", process, log_path)
        yield log_path
    finally:
        stop(process)


async def issue_token(public_port: int, admin_port: int) -> dict:
    async with httpx.AsyncClient(timeout=30) as http:
        created = await http.post(f"http://127.0.0.1:{admin_port}/admin/clients",
                                  json={"client_secret": "config-file-secret", "grant_types": ["client_credentials"]})
        assert created.status_code == 201, created.text
        token = await http.post(f"http://127.0.0.1:{public_port}/oauth2/token",
                                data={"grant_type": "client_credentials"},
                                headers=basic(created.json()["client_id"], "config-file-secret"))
        assert token.status_code == 200, token.text
        return token.json()


async def discovery_issuer(public_port: int) -> str:
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.get(f"http://127.0.0.1:{public_port}/.well-known/openid-configuration")
        assert response.status_code == 200, response.text
        return response.json()["issuer"]


async def test_serve_takes_its_settings_from_the_file(postgres, template_db):
    dsn = await postgres.create_database(template_db)
    public_port, admin_port = free_port(), free_port()
    path = write("hydralite.yml", sample_yaml(dsn, public_port, admin_port))
    with serve([path], admin_port, clean_env(LOG_FORMAT="json")) as log_path:
        assert await discovery_issuer(public_port) == f"http://from-file.localhost:{public_port}/"
        assert (await issue_token(public_port, admin_port))["expires_in"] in (419, 420)  # ttl.access_token: 7m
        log = log_path.read_text()
    warnings = [line for line in log.splitlines() if "does not support yet" in line]
    assert len(warnings) == 1 and "oauth2.hashers.algorithm" in warnings[0], log
    assert "version" not in warnings[0].split("(in")[0]
    # written in the configured log format (LOG_FORMAT=json), not in Python's plain one before logging was set up
    assert json.loads(warnings[0])["level"] == "warning", warnings[0]


async def test_a_later_file_and_the_environment_override_it(postgres, template_db):
    dsn = await postgres.create_database(template_db)
    public_port, admin_port = free_port(), free_port()
    first = write("hydralite.yml", sample_yaml(dsn, public_port, admin_port))
    later = write("later.toml", '[ttl]\naccess_token = "5m"\n')
    env = clean_env(URLS_SELF_ISSUER=f"http://from-env.localhost:{public_port}/")
    with serve([first, later], admin_port, env):
        assert await discovery_issuer(public_port) == f"http://from-env.localhost:{public_port}/"
        assert (await issue_token(public_port, admin_port))["expires_in"] in (299, 300)


@pytest.mark.parametrize(("text", "words"), [
    ("serve:\n  public:\n    prot: 4444\n", "serve.public.prot in {path}: not a Hydra configuration key"),
    ("serve:\n  admin:\n    port: 70000\n", "serve.admin.port in {path}: 70000 is greater than the maximum of 65535"),
    ("ttl:\n  access_token: soon\n", "ttl.access_token in {path}: 'soon' is not a duration"),
    ("serve: [\n", "{path} is not valid YAML"),
    (None, "cannot read {path}: No such file or directory"),
])
def test_a_bad_file_stops_the_start_with_one_line(text, words):
    path = write("bad.yml", text) if text is not None else str(SCRATCH / "missing" / "hydralite.yml")
    done = subprocess.run([sys.executable, "-m", "hydralite", "serve", "all", "-c", path], env=clean_env(),
                          capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("Error: invalid configuration: ") and words.format(path=path) in lines[0], lines[0]


async def test_migrate_and_janitor_read_the_dsn_from_the_file(postgres):
    dsn = await postgres.create_database()  # empty: no migrations yet
    path = write("migrate.yml", f"dsn: {json.dumps(dsn)}\nttl:\n  login_consent_request: 1h\n")

    def hydralite(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hydralite", *args], env=clean_env(), capture_output=True,
                              text=True, timeout=120, cwd=ROOT)

    up = hydralite("migrate", "sql", "up", "-c", path, "--yes")
    assert up.returncode == 0, up.stderr
    assert "Applied migration" in up.stdout
    status = hydralite("migrate", "sql", "status", "-c", path)
    assert status.returncode == 0 and "Pending" not in status.stdout and "Applied" in status.stdout, status.stdout
    assert "already applied" in hydralite("migrate", "sql", "-c", path, "--yes").stdout  # Hydra's older spelling
    janitor = hydralite("janitor", "-c", path)
    assert janitor.returncode == 0 and "Janitor deleted 0 rows." in janitor.stdout, janitor.stderr
    # Without the file there is no DSN at all.
    missing = hydralite("migrate", "sql", "up", "--yes")
    assert missing.returncode == 1 and "DSN is required" in missing.stderr
