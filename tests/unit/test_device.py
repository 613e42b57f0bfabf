"""Device flow pure parts: user-code normalization, generation, and the oauth2.device_authorization.* settings."""

from __future__ import annotations

import pytest

from hydralite.config import ConfigError
from hydralite.config.environment import from_env
from hydralite.engine.device import generate_user_code, normalize_user_code

BASE = {"DEV": "true", "SECRETS_SYSTEM": "a-system-secret-0123456789"}
HIGH = "abcdefghijkmnpqrstuvwxyzACDEFGHJKLMNPQRTUVWXY34679"


@pytest.mark.parametrize(("typed", "stored"), [
    ("AbCd-EfGh", "abcdefgh"), (" abcd efgh ", "abcdefgh"), ("ABCD\tEFGH", "abcdefgh"), ("abcdefgh", "abcdefgh")])
def test_user_codes_compare_without_case_and_separators(typed, stored):
    assert normalize_user_code(typed) == stored


def test_user_codes_use_the_configured_characters():
    codes = {generate_user_code(8, HIGH) for _ in range(200)}
    assert len(codes) == 200 and all(len(c) == 8 and set(c) <= set(HIGH) for c in codes)


def test_defaults_are_hydras():
    config = from_env(BASE)
    assert (config.ttl_device_user_code, config.device_polling_interval) == (600.0, 5.0)
    assert (config.device_user_code_length, config.device_user_code_charset) == (8, HIGH)
    assert config.device_verification_url == "http://localhost:3000/device"  # the embedded example UI under --dev
    assert config.device_success_url == "http://localhost:3000/device/done"
    fallback = from_env({**BASE, "URLS_LOGIN": "https://login.example/login"})
    assert fallback.device_verification_url == "http://localhost:4444/oauth2/fallbacks/device"


def test_presets_length_and_character_set():
    low = from_env({**BASE, "OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_ENTROPY_PRESET": "low"})
    assert (low.device_user_code_length, low.device_user_code_charset) == (9, "0123456789")
    custom = from_env({**BASE, "OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_LENGTH": "10",
                       "OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_CHARACTER_SET": "BCDFGHJKLMNPQRSTVWXZ",
                       "TTL_DEVICE_USER_CODE": "15m", "OAUTH2_DEVICE_AUTHORIZATION_TOKEN_POLLING_INTERVAL": "10s"})
    assert (custom.device_user_code_length, custom.device_user_code_charset) == (10, "BCDFGHJKLMNPQRSTVWXZ")
    assert (custom.ttl_device_user_code, custom.device_polling_interval) == (900.0, 10.0)


@pytest.mark.parametrize(("name", "value"), [
    ("OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_ENTROPY_PRESET", "extreme"),
    ("OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_LENGTH", "5"),
    ("OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_CHARACTER_SET", "aA"),
    ("OAUTH2_DEVICE_AUTHORIZATION_USER_CODE_CHARACTER_SET", "AB-CD"),
    ("OAUTH2_DEVICE_AUTHORIZATION_TOKEN_POLLING_INTERVAL", "500ms"),
    ("TTL_DEVICE_USER_CODE", "0"),
    ("HYDRALITE_DEVICE_USER_CODE_GUESSES", "0"),
])
def test_bad_settings_stop_the_start(name, value):
    with pytest.raises(ConfigError, match=name):
        from_env({**BASE, name: value})
