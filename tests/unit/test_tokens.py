"""The opaque token codec (REFERENCE §4): generation, verification, rotation, tampering."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from hydralite.crypto.tokens import ACCESS, CODE, MAX_TOKEN_LENGTH, REFRESH, TokenCodec

OLD = "old-secret-0123456789abcdef"
NEW = "new-secret-0123456789abcdef"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_generated_token_has_hydra_shape_and_verifies():
    codec = TokenCodec([NEW])
    token, sig = codec.generate(ACCESS)
    assert token.startswith("ory_at_")
    rnd_text, sig_text = token[len(ACCESS):].split(".")
    assert sig_text == sig
    rnd = base64.urlsafe_b64decode(rnd_text + "=" * (-len(rnd_text) % 4))
    assert len(rnd) == 32
    # Hydra's construction: HMAC-SHA512/256 keyed with SHA-256(secret), base64url without padding.
    expected = hmac.new(hashlib.sha256(NEW.encode()).digest(), rnd, "sha512_256").digest()
    assert sig == _b64(expected)
    assert "=" not in token
    assert codec.signature(token, ACCESS) == sig


def test_tokens_are_unique():
    codec = TokenCodec([NEW])
    assert len({codec.generate(ACCESS)[0] for _ in range(200)}) == 200


def test_prefix_must_match():
    codec = TokenCodec([NEW])
    token, sig = codec.generate(ACCESS)
    assert codec.signature(token, REFRESH) is None
    assert codec.signature(token, CODE) is None
    assert codec.any_signature(token, (REFRESH, ACCESS)) == (ACCESS, sig)
    rt, rt_sig = codec.generate(REFRESH)
    assert codec.any_signature(rt, (ACCESS, REFRESH)) == (REFRESH, rt_sig)


def test_token_signed_with_older_listed_secret_verifies():
    old_token, old_sig = TokenCodec([OLD]).generate(ACCESS)
    rotated = TokenCodec([NEW, OLD])
    assert rotated.signature(old_token, ACCESS) == old_sig
    new_token, new_sig = rotated.generate(ACCESS)
    # The first secret signs: a server that only knows NEW verifies new tokens, one that only knows OLD does not.
    assert TokenCodec([NEW]).signature(new_token, ACCESS) == new_sig
    assert TokenCodec([OLD]).signature(new_token, ACCESS) is None


def test_removed_secret_fails():
    old_token, _ = TokenCodec([OLD]).generate(ACCESS)
    assert TokenCodec([NEW]).signature(old_token, ACCESS) is None


def test_at_least_one_secret_required():
    with pytest.raises(ValueError):
        TokenCodec([])


def test_every_byte_flip_gives_none_never_an_exception():
    codec = TokenCodec([NEW])
    token, _ = codec.generate(ACCESS)
    raw = token.encode()
    for i in range(len(raw)):
        for bit in (0x01, 0x20, 0x80):
            mutated = bytearray(raw)
            mutated[i] ^= bit
            text = mutated.decode("utf-8", "replace")
            if text == token:
                continue
            # Canonical base64url only: no other string (not even one decoding to the same bytes) verifies.
            assert codec.signature(text, ACCESS) is None, (i, bit)


def test_non_canonical_or_padded_encodings_are_rejected():
    codec = TokenCodec([NEW])
    token, sig = codec.generate(ACCESS)
    rnd_text, sig_text = token[len(ACCESS):].split(".")
    for variant in (f"{ACCESS}{rnd_text}=.{sig_text}", f"{ACCESS}{rnd_text}.{sig_text}=",
                    f"{ACCESS}{rnd_text[:10]}!{rnd_text[10:]}.{sig_text}",
                    f"{ACCESS}{rnd_text}.{sig_text[:5]} {sig_text[5:]}",
                    f"{ACCESS}{rnd_text}.{sig_text}.", f"{ACCESS}{rnd_text}\n.{sig_text}"):
        assert codec.signature(variant, ACCESS) is None, variant


@pytest.mark.parametrize("garbage", [
    "", "x", "ory_at_", "ory_at_.", "ory_at_abc", "ory_at_abc.", "ory_at_.abc", "ory_at_!!!.???",
    "ory_at_" + "A" * 43 + "." + "B" * 43, "ory_at_" + "a" * 100_000, "ory_rt_abc.def", "\x00" * 10,
    "ory_at_\u00e9\u00e9.\u00e9", "ory_at_" + "\ud800" + ".x", "ory_at_a.b.c", "ory_at_====.====",
])
def test_garbage_is_rejected_without_exception(garbage):
    assert TokenCodec([NEW]).signature(garbage, ACCESS) is None


def test_overlong_token_rejected_before_hashing():
    codec = TokenCodec([NEW])
    token, _ = codec.generate(ACCESS)
    assert codec.signature(token + "A" * MAX_TOKEN_LENGTH, ACCESS) is None
