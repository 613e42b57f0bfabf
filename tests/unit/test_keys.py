"""JWK generation per alg, public views, JWT signing and verification (real crypto via joserfc)."""

from __future__ import annotations

import base64
import time

import orjson
import pytest

from hydralite.crypto import keys as jwk

# Small RSA keys keep the unit tests quick; the kty/alg mapping is what is under test.
CASES = [("RS256", "RSA"), ("PS384", "RSA"), ("ES256", "EC"), ("ES384", "EC"), ("ES512", "EC"), ("EdDSA", "OKP")]


@pytest.mark.parametrize(("alg", "kty"), CASES)
def test_generate_maps_alg_to_key_type_and_round_trips(alg, kty):
    key = jwk.generate(alg, "sig", rsa_bits=2048)
    assert key["kty"] == kty and key["alg"] == alg and key["use"] == "sig" and "d" in key
    assert len(key["kid"]) == 36  # UUIDv4 by default
    pub = jwk.public(key)
    assert "d" not in pub and pub["kid"] == key["kid"] and jwk.valid(pub)
    token = jwk.sign(key, {"sub": "alice", "exp": int(time.time()) + 60})
    header = orjson.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header == {"alg": alg, "kid": key["kid"], "typ": "JWT"}
    assert jwk.verify(token, [pub])["sub"] == "alice"


def test_rsa_default_size_and_explicit_kid_and_use():
    key = jwk.generate("ES256", "enc", kid="my-kid")
    assert key["kid"] == "my-kid" and key["use"] == "enc" and key["crv"] == "P-256"
    assert jwk.ALGORITHMS["RS256"] == ("RSA", 4096)


def test_unsupported_algorithm():
    for alg in ("HS256", "none", "RS1", ""):
        with pytest.raises(jwk.UnsupportedAlgorithm):
            jwk.generate(alg)


def test_tampered_or_foreign_tokens_fail():
    key = jwk.generate("ES256")
    other = jwk.generate("ES256")
    token = jwk.sign(key, {"sub": "alice"})
    head, body, sig = token.split(".")
    forged_body = base64.urlsafe_b64encode(orjson.dumps({"sub": "mallory"})).rstrip(b"=").decode()
    assert jwk.verify(f"{head}.{forged_body}.{sig}", [key]) is None
    flipped = sig[:-2] + ("AA" if not sig.endswith("AA") else "BB")
    assert jwk.verify(f"{head}.{body}.{flipped}", [key]) is None
    assert jwk.verify(token, [jwk.public(other)]) is None
    assert jwk.verify(token, []) is None
    assert jwk.verify("not.a.jwt", [key]) is None and jwk.verify("", [key]) is None


def test_alg_none_is_never_accepted():
    key = jwk.generate("ES256")
    head = base64.urlsafe_b64encode(b'{"alg":"none","kid":"%s"}' % key["kid"].encode()).rstrip(b"=").decode()
    body = base64.urlsafe_b64encode(b'{"sub":"mallory"}').rstrip(b"=").decode()
    assert jwk.verify(f"{head}.{body}.", [key]) is None


def test_expired_tokens_rejected_unless_accepted():
    key = jwk.generate("EdDSA")
    token = jwk.sign(key, {"sub": "alice", "exp": int(time.time()) - 3600})
    assert jwk.verify(token, [key]) is None
    assert jwk.verify(token, [key], accept_expired=True)["sub"] == "alice"


def test_valid_rejects_garbage():
    assert not jwk.valid({"kty": "nope", "kid": "x"})
    assert not jwk.valid({"kid": "x"})
    assert not jwk.valid("string")
    assert not jwk.valid({"kty": "RSA", "n": "AQAB"})
