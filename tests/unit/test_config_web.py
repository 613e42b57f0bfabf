"""oauth2.token_hook / oauth2.refresh_token_hook and serve.{public,admin}.cors.* from files and the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from hydralite.config import ConfigError, load
from hydralite.config.model import CORS_EXPOSED, CORS_METHODS, CorsConfig, HookConfig

BASE = {"DEV": "true"}

YAML = """
oauth2:
  token_hook:
    url: https://hooks.example.com/token
    auth:
      type: api_key
      config: {in: cookie, name: hook_session, value: s3cret}
  refresh_token_hook: https://hooks.example.com/refresh
serve:
  public:
    cors:
      enabled: true
      allowed_origins: [https://app.example.com, "https://*.example.org"]
      allowed_headers: [Authorization, Content-Type, X-Custom]
      max_age: 30
"""


def test_hooks_and_cors_from_a_file(tmp_path: Path):
    path = tmp_path / "hydralite.yml"
    path.write_text(YAML)
    c = load(BASE, files=[str(path)])
    assert c.token_hook == HookConfig("https://hooks.example.com/token", "cookie", "hook_session", "s3cret")
    assert c.refresh_token_hook == HookConfig("https://hooks.example.com/refresh")
    assert c.cors_public.enabled and c.cors_public.max_age == 30
    assert c.cors_public.allowed_origins == ("https://app.example.com", "https://*.example.org")
    assert c.cors_public.allowed_headers == ("Authorization", "Content-Type", "X-Custom")
    assert c.cors_public.allowed_methods == CORS_METHODS and c.cors_public.exposed_headers == CORS_EXPOSED
    assert c.cors_public.allow_credentials is True and c.cors_admin == CorsConfig()


def test_defaults_are_off():
    c = load(BASE)
    assert c.token_hook is None and c.refresh_token_hook is None and c.token_hook_timeout == 5.0
    assert not c.cors_public.enabled and not c.cors_admin.enabled


def test_hook_as_json_in_the_environment():
    c = load({**BASE, "OAUTH2_TOKEN_HOOK": '{"url": "http://127.0.0.1:9/h", "auth": {"type": "api_key", '
                                           '"config": {"in": "header", "name": "X-Key", "value": "v"}}}',
              "HYDRALITE_TOKEN_HOOK_TIMEOUT": "1500ms"})
    assert c.token_hook == HookConfig("http://127.0.0.1:9/h", "header", "X-Key", "v")
    assert c.token_hook_timeout == 1.5


@pytest.mark.parametrize(("env", "named"), [
    ({"OAUTH2_TOKEN_HOOK": "not a url"}, "OAUTH2_TOKEN_HOOK"),
    ({"OAUTH2_TOKEN_HOOK": "{broken"}, "OAUTH2_TOKEN_HOOK"),
    ({"OAUTH2_TOKEN_HOOK_URL": "https://h.example.com", "OAUTH2_TOKEN_HOOK_AUTH_TYPE": "basic"},
     "OAUTH2_TOKEN_HOOK_AUTH_TYPE"),
    ({"OAUTH2_TOKEN_HOOK_URL": "https://h.example.com", "OAUTH2_TOKEN_HOOK_AUTH_TYPE": "api_key"},
     "OAUTH2_TOKEN_HOOK_AUTH_CONFIG_NAME"),
    ({"OAUTH2_REFRESH_TOKEN_HOOK_AUTH_TYPE": "api_key"}, "OAUTH2_REFRESH_TOKEN_HOOK_URL"),
    ({"HYDRALITE_TOKEN_HOOK_TIMEOUT": "0s"}, "HYDRALITE_TOKEN_HOOK_TIMEOUT"),
    ({"SERVE_PUBLIC_CORS_MAX_AGE": "-1"}, "SERVE_PUBLIC_CORS_MAX_AGE"),
    ({"SERVE_ADMIN_CORS_ALLOWED_METHODS": "GET,FETCH"}, "SERVE_ADMIN_CORS_ALLOWED_METHODS"),
    ({"SERVE_PUBLIC_CORS_ALLOWED_ORIGINS": "https://*.*.example.com"}, "SERVE_PUBLIC_CORS_ALLOWED_ORIGINS"),
])
def test_bad_values_stop_the_start_naming_the_variable(env, named):
    with pytest.raises(ConfigError, match=named):
        load({**BASE, **env})
