"""The pytest plugin as a user meets it: a separate pytest run of a conftest-free project that has only the
installed plugin (entry point pytest11), plus a scratch project for options, failure reports and laziness."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
KIT_PROJECT = ROOT / "tests" / "kit_project"


def run_pytest(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # XDG_RUNTIME_DIR unset, as in containers and CI: the run must still be free of warnings.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DSN", "XDG_RUNTIME_DIR"))}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA", *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_kit_project_passes_with_only_the_installed_plugin():
    assert not (KIT_PROJECT / "conftest.py").exists()
    result = run_pytest(KIT_PROJECT)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "7 passed" in output and "warning" not in output, output  # the README's pytest.ini filters nothing
    for name in ("test_api_with_a_token", "test_user_signs_in_without_a_browser", "test_reset_starts_from_an_empty"):
        assert f"PASSED test_orders_api.py::{name}" in output, output


SCRATCH_TESTS = '''
import sys


def test_nothing_is_started_or_imported_without_the_fixtures():
    assert "hydralite.testing.server" not in sys.modules
    assert "hydralite.testing.client" not in sys.modules
    assert "asyncpg" not in sys.modules


def test_settings_from_the_file_and_the_command_line(hydralite, hydralite_server):
    assert hydralite_server.issuer == hydralite_server.public_url + "/"
    assert hydralite_server.admin_url.startswith("http://127.0.0.1:")
    client = hydralite.create_client(scope="openid offline_access")
    assert client["client_name"].startswith("test_settings_from_the_file_and_the_command_line-")
    assert hydralite.client_credentials_token(client)["expires_in"] == 480  # --hydralite-set wins over the file
    tokens = hydralite.sign_in(client, subject="carol")
    refresh = hydralite.introspect(tokens["refresh_token"])
    assert refresh["exp"] - refresh["iat"] == 7200  # ttl.refresh_token from hydralite.yml


def test_a_failure_shows_the_server_log(hydralite):
    hydralite.create_client()
    assert False, "deliberate failure"
'''


def test_options_failure_report_and_laziness(tmp_path: Path):
    (tmp_path / "pytest.ini").write_text(textwrap.dedent("""\
        [pytest]
        hydralite_config = hydralite.yml
        """))
    (tmp_path / "hydralite.yml").write_text("ttl:\n  access_token: 7m\n  refresh_token: 2h\n")
    (tmp_path / "test_scratch.py").write_text(SCRATCH_TESTS)
    result = run_pytest(tmp_path, "--hydralite-set", "ttl.access_token=8m")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "PASSED test_scratch.py::test_nothing_is_started_or_imported_without_the_fixtures" in output, output
    assert "PASSED test_scratch.py::test_settings_from_the_file_and_the_command_line" in output, output
    assert "FAILED test_scratch.py::test_a_failure_shows_the_server_log" in output, output
    assert "hydralite server log" in output, output
    assert "method:POST path:/admin/clients" in output.split("hydralite server log", 1)[1], output
