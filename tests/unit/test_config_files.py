"""Configuration files (`-c`): YAML, JSON and TOML with Hydra's keys, layered under the environment,
checked against Hydra's schema with one-line errors that name the key and the file."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest

from hydralite.config import HYDRA_KEYS, ConfigError, env_name, load, load_values
from hydralite.config.sources import known

ROOT = Path(__file__).resolve().parents[2]
SECRET = "a-system-secret-of-32-characters"

YAML = f"""
dsn: postgres://hydra:secret@db:5432/hydra
serve:
  public:
    port: 9001
  admin:
    host: 127.0.0.1
    port: 9002
urls:
  self:
    issuer: https://auth.example.com/
  login: https://app.example.com/login
secrets:
  system:
    - {SECRET}
    - older-secret-0123456789
ttl:
  access_token: 5m
  refresh_token: -1
strategies:
  scope: exact
oauth2:
  pkce:
    enforced: true
oidc:
  dynamic_client_registration:
    default_scope: [openid, email]
log:
  level: debug
  format: json
  leak_sensitive_values: true
tracing:
  provider: otel
  service_name: my-hydralite
  providers:
    otlp:
      server_url: localhost:4318
      insecure: true
      sampling:
        sampling_ratio: 0.25
"""
DATA = {
    "dsn": "postgres://hydra:secret@db:5432/hydra",
    "serve": {"public": {"port": 9001}, "admin": {"host": "127.0.0.1", "port": 9002}},
    "urls": {"self": {"issuer": "https://auth.example.com/"}, "login": "https://app.example.com/login"},
    "secrets": {"system": [SECRET, "older-secret-0123456789"]},
    "ttl": {"access_token": "5m", "refresh_token": -1},
    "strategies": {"scope": "exact"},
    "oauth2": {"pkce": {"enforced": True}},
    "oidc": {"dynamic_client_registration": {"default_scope": ["openid", "email"]}},
    "log": {"level": "debug", "format": "json", "leak_sensitive_values": True},
    "tracing": {"provider": "otel", "service_name": "my-hydralite",
                "providers": {"otlp": {"server_url": "localhost:4318", "insecure": True,
                                       "sampling": {"sampling_ratio": 0.25}}}},
}
TOML = f"""
dsn = "postgres://hydra:secret@db:5432/hydra"
[serve.public]
port = 9001
[serve.admin]
host = "127.0.0.1"
port = 9002
[urls]
login = "https://app.example.com/login"
[urls.self]
issuer = "https://auth.example.com/"
[secrets]
system = ["{SECRET}", "older-secret-0123456789"]
[ttl]
access_token = "5m"
refresh_token = -1
[strategies]
scope = "exact"
[oauth2.pkce]
enforced = true
[oidc.dynamic_client_registration]
default_scope = ["openid", "email"]
[log]
level = "debug"
format = "json"
leak_sensitive_values = true
[tracing]
provider = "otel"
service_name = "my-hydralite"
[tracing.providers.otlp]
server_url = "localhost:4318"
insecure = true
[tracing.providers.otlp.sampling]
sampling_ratio = 0.25
"""


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def refused(files: list[str], env: dict[str, str] | None = None) -> str:
    with pytest.raises(ConfigError) as info:
        load(env or {}, files=files)
    text = str(info.value)
    assert "\n" not in text, text
    return text


@pytest.mark.parametrize(("name", "text"), [("h.yml", YAML), ("h.yaml", YAML), ("h.json", json.dumps(DATA)),
                                            ("h.toml", TOML)])
def test_each_format_sets_the_same_values(tmp_path, name, text):
    c = load({}, files=[write(tmp_path, name, text)])
    assert c.dsn == "postgres://hydra:secret@db:5432/hydra" and not c.embedded
    assert (c.public_port, c.admin_host, c.admin_port) == (9001, "127.0.0.1", 9002)
    assert c.issuer == "https://auth.example.com/" and c.login_url == "https://app.example.com/login"
    assert c.secrets_system == (SECRET, "older-secret-0123456789")
    assert c.ttl_access_token == 300 and c.ttl_refresh_token == -1
    assert c.scope_strategy == "exact" and c.pkce_enforced and not c.pkce_enforced_for_public_clients
    assert c.default_client_scope == ("openid", "email")
    assert (c.log_level, c.log_format, c.log_leak_sensitive_values) == ("debug", "json", True)
    assert (c.tracing_provider, c.tracing_service_name, c.tracing_otlp_server_url) == (
        "otel", "my-hydralite", "localhost:4318")
    assert c.tracing_otlp_insecure and c.tracing_sampling_ratio == 0.25
    assert c.ttl_id_token == 3600 and c.consent_url.endswith("/oauth2/fallbacks/consent")  # defaults remain


def test_later_file_wins_key_by_key(tmp_path):
    first = write(tmp_path, "a.yml", YAML)
    second = write(tmp_path, "b.json", json.dumps({"serve": {"public": {"port": 9100}}, "ttl": {"access_token": "2m"}}))
    c = load({}, files=[first, second])
    assert c.public_port == 9100 and c.ttl_access_token == 120
    assert c.admin_port == 9002 and c.issuer == "https://auth.example.com/"  # from the first file
    assert load({}, files=[second, first]).public_port == 9001


def test_environment_overrides_files(tmp_path):
    path = write(tmp_path, "a.yml", YAML)
    c = load({"SERVE_PUBLIC_PORT": "9200", "TTL_ACCESS_TOKEN": "1m", "SECRETS_SYSTEM": "from-the-environment-1234",
              "URLS_SELF_ISSUER": "https://env.example.com/"}, files=[path])
    assert (c.public_port, c.ttl_access_token) == (9200, 60)
    assert c.secrets_system == ("from-the-environment-1234",) and c.issuer == "https://env.example.com/"
    assert c.admin_port == 9002  # not overridden
    # An empty variable (compose's `NAME=`) does not hide the file's value.
    assert load({"SERVE_PUBLIC_PORT": ""}, files=[path]).public_port == 9001


def test_without_files_the_environment_is_used_as_before():
    c = load({"SECRETS_SYSTEM": SECRET, "SERVE_PUBLIC_PORT": "9300"}, dev=True, files=[])
    assert c.public_port == 9300


def test_unknown_key_is_one_line_naming_key_and_file(tmp_path):
    path = write(tmp_path, "typo.yml", "serve:\n  public:\n    prot: 4444\n")
    text = refused([path])
    assert "serve.public.prot" in text and path in text and "not a Hydra configuration key" in text
    text = refused([write(tmp_path, "two.json", '{"colour": 1, "ttl": {"access": "1h"}}')])
    assert "colour" in text and "ttl.access" in text
    # Only the unknown key is named, not its valid neighbour.
    text = refused([write(tmp_path, "mix.yml", "serve:\n  public:\n    port: 1\n    porty: 2\n")])
    assert "serve.public.porty in" in text and "serve.public.port in" not in text


@pytest.mark.parametrize(("text", "key", "words"), [
    ("serve:\n  public:\n    port: seventy\n", "serve.public.port", "not of type 'integer'"),
    ("serve:\n  public:\n    port: 70000\n", "serve.public.port", "maximum of 65535"),
    ("ttl:\n  access_token: 1 hour\n", "ttl.access_token", "not a duration"),
    ("log:\n  level: loud\n", "log.level", "is not one of"),
    ("secrets:\n  system: short\n", "secrets.system", "not of type 'array'"),
    ("secrets:\n  system: [short]\n", "secrets.system.0", "too short"),
    ("tracing:\n  providers:\n    otlp:\n      sampling:\n        sampling_ratio: high\n",
     "tracing.providers.otlp.sampling.sampling_ratio", "not of type 'number'"),
    ("oauth2:\n  pkce:\n    enforced: maybe\n", "oauth2.pkce.enforced", "not of type 'boolean'"),
])
def test_wrong_type_or_range_is_one_line(tmp_path, text, key, words):
    path = write(tmp_path, "bad.yml", text)
    message = refused([path])
    assert f"{key} in {path}" in message and words in message, message


def test_semantic_problems_of_file_values_name_key_and_file(tmp_path):
    path = write(tmp_path, "h.yml", f"secrets:\n  system: [{SECRET}]\nurls:\n  self:\n    issuer: http://a.example/\n")
    assert f"urls.self.issuer in {path}: must use https" in refused([path])
    path = write(tmp_path, "jwt.toml",
                 f'secrets = {{ system = ["{SECRET}"] }}\nstrategies = {{ access_token = "jwt" }}\n')
    assert load({"DEV": "true"}, files=[path]).access_token_strategy == "jwt"
    # The same problem from the environment names the variable.
    assert "STRATEGIES_ACCESS_TOKEN:" in refused([path], {"DEV": "true", "STRATEGIES_ACCESS_TOKEN": "jwt2"})


def test_known_but_unsupported_keys_are_accepted_and_reported_once(tmp_path, caplog):
    path = write(tmp_path, "h.yml", YAML + "oauth2:\n  hashers:\n    algorithm: bcrypt\n  pkce:\n    enforced: true\n"
                 "webfinger:\n  jwks:\n    broadcast_keys: [hydra.jwt.access-token]\nversion: v2.2.0\n"
                 "sqa:\n  opt_out: true\n")
    with caplog.at_level(logging.WARNING, logger="hydralite.config"):
        c = load({}, files=[path])
    assert c.pkce_enforced
    # kept on the Config for ops/logs.setup() to write in the configured format, not logged before logging exists
    assert not [r for r in caplog.records if r.name == "hydralite.config"]
    lines = list(c.notices)
    assert len(lines) == 1, lines
    assert "oauth2.hashers.algorithm" in lines[0] and "webfinger.jwks.broadcast_keys" in lines[0]
    assert "version" not in lines[0].split("(in")[0] and "sqa" not in lines[0] and "pkce" not in lines[0]


def test_documented_examples_of_unsupported_keys_are_not_implemented():
    """docs/configuration.md names a few keys that are accepted but have no effect: none of them may be one
    hydralite implements (oauth2.token_hook was listed there after it was built)."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "configuration.md").read_text()
    sentence = docs.split("Keys of Hydra features hydralite does not have yet", 1)[1].split(")", 1)[0]
    examples = re.findall(r"`([a-z0-9_.]+)`", sentence)
    assert examples
    for key in examples:
        assert not [k for k in HYDRA_KEYS if k == key or k.startswith(key + ".")], key


def test_unsupported_key_with_a_wrong_value_is_still_refused(tmp_path):
    # Hydra's schema applies to every key, so a file Hydra would refuse is refused here too.
    path = write(tmp_path, "h.yml", "oauth2:\n  hashers:\n    bcrypt:\n      cost: 2\n")
    assert f"oauth2.hashers.bcrypt.cost in {path}" in refused([path])


@pytest.mark.parametrize(("name", "text", "words"), [
    ("broken.yml", "serve: [\n", "is not valid YAML"),
    ("broken.json", '{"serve": ', "is not valid JSON"),
    ("broken.toml", "serve = [\n", "is not valid TOML"),
    ("list.yml", "- dsn\n", "top level must be a mapping"),
    ("conf.ini", "dsn=x\n", "unknown file type '.ini'"),
])
def test_unparsable_files_are_one_line(tmp_path, name, text, words):
    path = write(tmp_path, name, text)
    message = refused([path])
    assert path in message and words in message, message


def test_missing_or_unreadable_file_is_one_line(tmp_path):
    missing = str(tmp_path / "nope.yml")
    assert f"cannot read {missing}: No such file or directory" in refused([missing])
    folder = tmp_path / "dir.yml"
    folder.mkdir()
    assert f"cannot read {folder}" in refused([str(folder)])


def test_empty_yaml_file_is_no_configuration(tmp_path):
    c = load({"SECRETS_SYSTEM": SECRET}, dev=True, files=[write(tmp_path, "empty.yml", "")])
    assert c.public_port == 4444


def test_load_values_for_migrate_and_janitor(tmp_path):
    path = write(tmp_path, "h.yml", "dsn: postgres://from-file/db\nttl:\n  login_consent_request: 1h\n")
    values = load_values([path], {})
    assert values["DSN"] == "postgres://from-file/db" and values["TTL_LOGIN_CONSENT_REQUEST"] == "1h"
    assert load_values([path], {"DSN": "postgres://from-env/db"})["DSN"] == "postgres://from-env/db"
    with pytest.raises(ConfigError, match="serve.public.prot"):
        load_values([write(tmp_path, "bad.yml", "serve:\n  public:\n    prot: 1\n")], {})


def test_every_supported_key_is_a_hydra_key_with_hydras_env_name():
    for key in HYDRA_KEYS:
        assert known(key), key
    assert env_name("serve.public.port") == "SERVE_PUBLIC_PORT"
    ratio = "tracing.providers.otlp.sampling.sampling_ratio"
    assert env_name(ratio) == "TRACING_PROVIDERS_OTLP_SAMPLING_SAMPLING_RATIO"
    assert not known("serve.public.prot") and not known("nope") and known("feature_flags.anything")


def test_every_supported_key_is_read_by_its_env_name():
    source = "".join((ROOT / "hydralite" / "config" / f).read_text() for f in ("environment.py", "web.py"))
    for key in HYDRA_KEYS:
        assert f'"{env_name(key)}"' in source, key


def test_every_supported_key_is_documented():
    doc = (ROOT / "docs" / "configuration.md").read_text()
    for key in HYDRA_KEYS:
        assert f"`{key}`" in doc and f"`{env_name(key)}`" in doc, key


def test_importing_config_does_not_import_the_file_libraries():
    code = "import sys, hydralite.config; print(sorted({'yaml', 'jsonschema'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_the_documented_sample_loads(tmp_path):
    doc = (ROOT / "docs" / "configuration.md").read_text()
    sample = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    c = load({}, files=[write(tmp_path, "hydralite.yml", sample)])
    assert c.issuer == "https://auth.example.com/" and c.public_host == "127.0.0.1"
    assert c.log_format == "json" and c.tracing_provider == "otel" and c.cookie_same_site == "Lax"
