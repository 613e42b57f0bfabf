"""Redirect URI matching (CVE-2020-15233/15234 regressions) and PKCE."""

from __future__ import annotations

import pytest

from hydralite.engine import pkce, redirects
from hydralite.errors import InvalidGrant, InvalidRequest

REGISTERED = ["https://app.example.com/cb", "http://127.0.0.1/cb", "http://[::1]/cb"]


@pytest.mark.parametrize("uri", [
    "https://app.example.com/cb", "http://127.0.0.1/cb", "http://127.0.0.1:51234/cb", "http://[::1]:8080/cb",
])
def test_allowed(uri):
    assert redirects.match(uri, REGISTERED)


@pytest.mark.parametrize("uri", [
    "https://app.example.com/CB", "https://app.example.com/cb/", "https://app.example.com/cb?x=1",
    "https://app.example.com:444/cb", "https://app.example.com%2Fcb", "https://app.example.com@evil.com/cb",
    "https://app.example.com/cb/../x", "https://app.example.com.evil.com/cb", "HTTPS://app.example.com/cb",
    "http://127.0.0.1:51234/cb?x=1", "http://127.0.0.1.evil.com/cb", "http://127.0.0.1:51234/other",
    "https://app.example.com/cb#frag", "", "http://localhost:51234/cb",
])
def test_rejected(uri):
    assert not redirects.match(uri, REGISTERED)


def test_https_registration_does_not_allow_loopback():
    assert not redirects.match("http://127.0.0.1/cb", ["https://app.example.com/cb"])


def test_insecure_redirects_outside_dev():
    assert redirects.is_secure("http://localhost:3000/cb", dev=False)
    assert redirects.is_secure("http://app.localhost/cb", dev=False)
    assert not redirects.is_secure("http://example.com/cb", dev=False)
    assert redirects.is_secure("http://example.com/cb", dev=True)


def test_pkce_roundtrip_and_mutation():
    verifier = "a" * 20 + "B-._~" + "9" * 25
    challenge = pkce.s256(verifier)
    pkce.verify(challenge, verifier)
    with pytest.raises(InvalidGrant):
        pkce.verify(challenge, verifier[:-1] + "8")


@pytest.mark.parametrize("verifier", ["short", "x" * 129, "bad char" + "x" * 40, ""])
def test_pkce_bad_verifiers(verifier):
    with pytest.raises(InvalidGrant):
        pkce.verify(pkce.s256("y" * 50), verifier)


def test_pkce_downgrade_rejected():
    with pytest.raises(InvalidGrant):
        pkce.verify("", "z" * 50)


def test_plain_and_missing_method_rejected():
    with pytest.raises(InvalidRequest):
        pkce.check_challenge("c" * 43, "plain", required=False)
    with pytest.raises(InvalidRequest):
        pkce.check_challenge("c" * 43, "", required=False)
    with pytest.raises(InvalidRequest):
        pkce.check_challenge("", "", required=True)
    pkce.check_challenge("", "", required=False)


def test_pkce_verifier_with_a_trailing_newline_is_malformed():
    verifier = "v" * 50
    with pytest.raises(InvalidGrant):
        pkce.verify(pkce.s256(verifier + "\n"), verifier + "\n")
