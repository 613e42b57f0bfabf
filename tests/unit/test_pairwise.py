"""Pairwise subjects and the front-channel logout page: pure functions (the e2e modules test them in use)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from hydralite.config import ConfigError, load
from hydralite.engine import clients, pairwise
from hydralite.engine.logout import frontchannel_page
from hydralite.errors import ClientMetadataError, InvalidRequest
from hydralite.models import Client

GOOD = "a-system-secret-of-32-characters"


def config(**env: str):
    return load({"SECRETS_SYSTEM": GOOD, **env}, dev=True)


def client(**metadata) -> Client:
    moment = datetime.now(UTC)
    return Client(id="c1", metadata=metadata, secret_hash=None, rotated_secrets=(), created_at=moment,
                  updated_at=moment)


def test_subject_types_default_to_public_and_pairwise_needs_a_long_salt():
    assert config().subject_types_supported == ("public",)
    both = config(OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES="pairwise,public",
                  OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT="12345678")
    assert both.subject_types_supported == ("public", "pairwise") and both.pairwise_salt == "12345678"
    with pytest.raises(ConfigError, match="OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT"):
        config(OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES="pairwise", OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT="short")
    with pytest.raises(ConfigError, match="OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES"):
        config(OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES="public,secret")


def test_pairwise_is_off_with_jwt_access_tokens_as_in_hydra():
    both = config(OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES="public,pairwise",
                  OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT="12345678")
    assert pairwise.supported_types(both) == ["public", "pairwise"]
    assert pairwise.supported_types(both, "jwt") == ["public"]
    with pytest.raises(ClientMetadataError) as jwt_client:
        clients.validate({"subject_type": "pairwise", "access_token_strategy": "jwt"}, both)
    assert jwt_client.value.description.endswith("Subject type pairwise is not supported by server, only [public] "
                                                 "are allowed.")
    with pytest.raises(ClientMetadataError) as off:
        clients.validate({"subject_type": "pairwise"}, config())
    assert "only [public] are allowed" in off.value.description
    assert clients.validate({}, both)["subject_type"] == "public"


def test_pairwise_subject_is_hydras_hash():
    settings = config(OIDC_SUBJECT_IDENTIFIERS_SUPPORTED_TYPES="public,pairwise",
                      OIDC_SUBJECT_IDENTIFIERS_PAIRWISE_SALT="salt-1234")
    by_host = client(subject_type="pairwise", redirect_uris=["https://user:pw@app.example:8443/cb?x=1"])
    assert pairwise.subject_for(settings, by_host, "alice") == hashlib.sha256(
        b"app.example:8443alicesalt-1234").hexdigest()
    by_sector = client(subject_type="pairwise", redirect_uris=["https://a.example/cb", "https://b.example/cb"],
                       sector_identifier_uri="https://sector.example/uris.json")
    assert pairwise.subject_for(settings, by_sector, "alice") == hashlib.sha256(
        b"https://sector.example/uris.jsonalicesalt-1234").hexdigest()
    assert pairwise.subject_for(settings, client(subject_type="public", redirect_uris=["https://a/cb"]),
                                "alice") == "alice"
    with pytest.raises(InvalidRequest):
        pairwise.subject_for(settings, client(subject_type="pairwise", redirect_uris=["https://a/1", "https://a/2"]),
                             "alice")
    with pytest.raises(InvalidRequest):
        pairwise.subject_for(config(), by_host, "alice")  # pairwise no longer enabled
    assert pairwise.subject_or_none(config(), by_host, "alice") is None


def test_frontchannel_page_cannot_be_broken_out_of():
    page = frontchannel_page('https://rp.example/done?a=1&b="</script><script>alert(1)</script>',
                             ['https://rp.example/fc?iss=x&sid="><script>'])
    assert "</script><script>alert(1)" not in page and '"><script>' not in page
    assert page.count("<iframe ") == 1 and "var total = 1;" in page
