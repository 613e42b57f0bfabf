"""Configuration from Hydra's environment names: durations, lists, secrets, errors reported together."""

from __future__ import annotations

import pytest

from hydralite.config import ConfigError, format_duration, load, parse_duration, parse_list

GOOD = "a-system-secret-of-32-characters"


@pytest.mark.parametrize(("text", "seconds"), [
    ("1h", 3600), ("30m", 1800), ("1h0m0s", 3600), ("1.5s", 1.5), ("500ms", 0.5), ("720h", 720 * 3600),
    ("1h30m", 5400), ("10us", 1e-5), ("10µs", 1e-5), ("0", 0), ("-1", -1), (" 2m ", 120),
])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["", "1", "h", "1d", "1 h", "-5m", "1h-1m", "abc", "1.h", "1hm"])
def test_parse_duration_rejects(bad):
    with pytest.raises(ValueError):
        parse_duration(bad)


@pytest.mark.parametrize(("seconds", "text"), [
    (3600, "1h0m0s"), (1800, "30m0s"), (1.5, "1.5s"), (0, "0s"), (5400, "1h30m0s"), (90061, "25h1m1s"), (59, "59s"),
    (0.1, "100ms"), (0.0015, "1.5ms"), (1.5e-6, "1.5µs"), (5e-7, "500ns"), (59.123456789, "59.123456789s"),
    (61.25, "1m1.25s"), (2562047 * 3600, "2562047h0m0s"),
])
def test_format_duration_like_go(seconds, text):
    assert format_duration(seconds) == text
    assert parse_duration(text) == pytest.approx(seconds)


def test_parse_list_csv_and_json():
    assert parse_list("") == []
    assert parse_list(" a , b,,c ") == ["a", "b", "c"]
    assert parse_list('["a,b", "c"]') == ["a,b", "c"]
    with pytest.raises(ValueError):
        parse_list('["a", 1]')
    with pytest.raises(ValueError):
        parse_list("[not json")


def test_defaults_follow_hydra():
    c = load({"SECRETS_SYSTEM": GOOD}, dev=True)
    assert (c.public_port, c.admin_port) == (4444, 4445)
    assert c.ttl_access_token == 3600 and c.ttl_refresh_token == 720 * 3600 and c.ttl_auth_code == 600
    assert c.scope_strategy == "wildcard" and c.access_token_strategy == "opaque"
    assert c.secrets_system == (GOOD,)
    assert c.issuer == "http://localhost:4444/"
    assert c.embedded


def test_values_are_read():
    c = load({"SECRETS_SYSTEM": f"{GOOD},old-secret-0123456789", "TTL_ACCESS_TOKEN": "5m", "SERVE_PUBLIC_PORT": "9000",
              "URLS_SELF_ISSUER": "https://auth.example.com/", "DSN": "postgres://u:p@db/hydra",
              "STRATEGIES_SCOPE": "exact"})
    assert c.secrets_system == (GOOD, "old-secret-0123456789")
    assert c.ttl_access_token == 300 and c.public_port == 9000 and c.scope_strategy == "exact"
    assert c.issuer == "https://auth.example.com/" and not c.embedded and not c.dev
    assert load({"SECRETS_SYSTEM": f'["{GOOD}"]'}, dev=True).secrets_system == (GOOD,)


def test_secrets_must_be_16_characters():
    load({"SECRETS_SYSTEM": "x" * 16}, dev=True)
    with pytest.raises(ConfigError, match="SECRETS_SYSTEM"):
        load({"SECRETS_SYSTEM": "x" * 15}, dev=True)
    with pytest.raises(ConfigError, match="entry 2"):
        load({"SECRETS_SYSTEM": f"{GOOD},short"}, dev=True)
    with pytest.raises(ConfigError, match="SECRETS_COOKIE"):
        load({"SECRETS_SYSTEM": GOOD, "SECRETS_COOKIE": "short"}, dev=True)


def test_every_problem_is_listed_together():
    with pytest.raises(ConfigError) as info:
        load({"SECRETS_SYSTEM": "short", "TTL_ACCESS_TOKEN": "forever", "SERVE_ADMIN_PORT": "http",
              "STRATEGIES_SCOPE": "regex", "SERVE_COOKIES_SAME_SITE_MODE": "Sometimes"})
    text = str(info.value)
    for name in ("SECRETS_SYSTEM", "TTL_ACCESS_TOKEN", "SERVE_ADMIN_PORT", "STRATEGIES_SCOPE",
                 "SERVE_COOKIES_SAME_SITE_MODE", "URLS_SELF_ISSUER"):
        assert name in text, name
    assert text.count("\n  - ") == 6


def test_production_needs_https_issuer():
    with pytest.raises(ConfigError, match="https"):
        load({"SECRETS_SYSTEM": GOOD, "URLS_SELF_ISSUER": "http://auth.example.com/"})
    assert load({"SECRETS_SYSTEM": GOOD, "URLS_SELF_ISSUER": "http://localhost:4444/"}, dev=True)


@pytest.mark.parametrize(("name", "value"), [("TTL_ACCESS_TOKEN", "-1"), ("TTL_ACCESS_TOKEN", "0"),
                                             ("TTL_AUTH_CODE", "0s"), ("TTL_ID_TOKEN", "-1"),
                                             ("SERVE_PUBLIC_PORT", "70000"), ("SERVE_ADMIN_PORT", "-1"),
                                             ("HYDRALITE_WORKERS", "0")])
def test_out_of_range_values_are_refused(name, value):
    # TTL_ACCESS_TOKEN=-1 used to be accepted and made every token request fail on the NOT NULL expiry.
    with pytest.raises(ConfigError, match=name):
        load({"SECRETS_SYSTEM": GOOD, name: value}, dev=True)


def test_refresh_tokens_may_live_forever():
    assert load({"SECRETS_SYSTEM": GOOD, "TTL_REFRESH_TOKEN": "-1"}, dev=True).ttl_refresh_token == -1
    assert load({"SECRETS_SYSTEM": GOOD, "SERVE_PUBLIC_PORT": "0"}, dev=True).public_port == 0
