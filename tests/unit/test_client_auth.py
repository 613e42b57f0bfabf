"""Client credentials parsing: RFC 6749 §2.3.1 Basic (form-decoded), one method per request (A10–A12)."""

from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus

import pytest

from hydralite.engine.client_auth import credentials, parse_basic
from hydralite.errors import InvalidClient, InvalidRequest


def b64(raw: str) -> str:
    return base64.b64encode(raw.encode()).decode()


def test_plain_basic():
    assert parse_basic("Basic " + b64("client:secret")) == ("client", "secret")


def test_scheme_is_case_insensitive():
    assert parse_basic("basic " + b64("client:secret")) == ("client", "secret")
    assert parse_basic("BASIC " + b64("client:secret")) == ("client", "secret")


def test_non_basic_scheme_is_ignored():
    assert parse_basic("Bearer abc") is None


def test_rfc6749_percent_decoding_a12():
    header = "Basic " + b64("my%3Aclient:p%40ss%2Bw%25rd")
    assert parse_basic(header) == ("my:client", "p@ss+w%rd")


def test_unencoded_plus_decodes_to_space_a12():
    assert parse_basic("Basic " + b64("client:a+b")) == ("client", "a b")


def test_secret_may_contain_colons():
    assert parse_basic("Basic " + b64("client:a:b:c")) == ("client", "a:b:c")


@pytest.mark.parametrize("raw", ["client:%zz", "client:%", "client:abc%2", "%zz:secret", "client:%C3%28"])
def test_bad_escapes_are_invalid_request_a12(raw):
    with pytest.raises(InvalidRequest):
        parse_basic("Basic " + b64(raw))


@pytest.mark.parametrize("value", ["Basic", "Basic ", "Basic !!!notbase64", "Basic " + b64("no-colon"),
                                   "Basic " + b64(":secret-only"), "Basic Y2xpZW50OnNlY3JldA",
                                   "Basic " + base64.b64encode(b"\xff\xfe:\xff").decode(),
                                   "Basic " + "A" * 20_000])
def test_malformed_basic_is_401_with_challenge_a11(value):
    with pytest.raises(InvalidClient) as info:
        parse_basic(value)
    assert info.value.status_code == 401
    assert info.value.headers["WWW-Authenticate"].startswith("Basic")


@pytest.mark.parametrize(("client_id", "secret"), [
    ("my:client", "p@ss+w%rd"), ("ünïcødé", "sëcret with spaces"), ("a b", "%+:/?#[]@!$&'()*,;="),
    ("x", "\u00e9\u20ac\U0001f600"),
])
def test_roundtrip_any_unicode(client_id, secret):
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}"
    assert parse_basic("Basic " + b64(raw)) == (client_id, secret)
    raw = f"{quote(client_id, safe='')}:{quote(secret, safe='')}"
    assert parse_basic("Basic " + b64(raw)) == (client_id, secret)


def _basic(cid: str, secret: str) -> str:
    return "Basic " + b64(f"{quote_plus(cid)}:{quote_plus(secret)}")


def test_credentials_methods():
    assert credentials({}, _basic("c", "s")).method == "client_secret_basic"
    post = credentials({"client_id": ["c"], "client_secret": ["s"]}, None)
    assert (post.client_id, post.secret, post.method) == ("c", "s", "client_secret_post")
    none = credentials({"client_id": ["c"]}, None)
    assert (none.secret, none.method) == (None, "none")
    # A Basic header naming the same client as the body's client_id is one method, not two.
    assert credentials({"client_id": ["c"]}, _basic("c", "s")).method == "client_secret_basic"


def test_credentials_in_header_and_body_a10():
    with pytest.raises(InvalidRequest):
        credentials({"client_id": ["c"], "client_secret": ["s"]}, _basic("c", "s"))
    with pytest.raises(InvalidRequest):
        credentials({"client_secret": ["s"]}, _basic("c", "s"))
    with pytest.raises(InvalidRequest):
        credentials({"client_id": ["other"]}, _basic("c", "s"))


def test_no_credentials_at_all_a8():
    with pytest.raises(InvalidClient):
        credentials({}, None)


def test_repeated_client_id_is_invalid_request_a5():
    with pytest.raises(InvalidRequest):
        credentials({"client_id": ["a", "b"]}, None)


def test_client_assertion_is_read_as_private_key_jwt():
    creds = credentials({"client_assertion_type": ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"],
                         "client_assertion": ["x.y.z"], "client_id": ["c"]}, None)
    assert (creds.client_id, creds.secret, creds.method, creds.assertion) == ("c", None, "private_key_jwt", "x.y.z")


@pytest.mark.parametrize("form", [
    {"client_assertion": ["x.y.z"]},  # RFC 7521 §4.2: the type is REQUIRED
    {"client_assertion_type": ["urn:example:other"], "client_assertion": ["x.y.z"]},
    {"client_assertion_type": ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"]},
    {"client_assertion_type": ["urn:ietf:params:oauth:client-assertion-type:jwt-bearer"],
     "client_assertion": ["x.y.z"], "client_secret": ["s"]},
])
def test_incomplete_or_mixed_client_assertions_are_invalid_request(form):
    with pytest.raises(InvalidRequest):
        credentials(form, None)
