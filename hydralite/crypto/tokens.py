"""Opaque tokens exactly as Hydra mints them (REFERENCE.md §4).

token = PREFIX + b64url(32 random bytes) + "." + b64url(HMAC-SHA512/256(K, rnd)),
K_i = SHA-256(secrets.system[i]). Only the signature (text after the dot) is stored;
tokens signed with any listed secret verify, new ones use the first.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets as _secrets
from collections.abc import Sequence

ACCESS = "ory_at_"
REFRESH = "ory_rt_"
CODE = "ory_ac_"
DEVICE = "ory_dc_"

#: A token longer than this cannot be one of ours; reject before hashing anything.
MAX_TOKEN_LENGTH = 256


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


_B64URL = re.compile(r"[A-Za-z0-9_-]+")


def _unb64(text: str) -> bytes | None:
    """Strict, canonical base64url: Python's decoder skips stray characters and ignores unused low bits,
    which would let many different strings name the same token."""
    if not _B64URL.fullmatch(text):
        return None
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        return None
    return data if b64(data) == text else None


def derive_key(secret: str) -> bytes:
    return hashlib.sha256(secret.encode("utf-8")).digest()


class TokenCodec:
    """Generates and verifies HMAC tokens; the first key signs, all keys verify."""

    def __init__(self, system_secrets: Sequence[str]):
        if not system_secrets:
            raise ValueError("at least one system secret is required")
        self._keys = [derive_key(s) for s in system_secrets]

    def _sign(self, key: bytes, rnd: bytes) -> bytes:
        return hmac.new(key, rnd, "sha512_256").digest()

    def generate(self, prefix: str) -> tuple[str, str]:
        """Return (token, signature) for a fresh token with the given prefix."""
        rnd = _secrets.token_bytes(32)
        sig = b64(self._sign(self._keys[0], rnd))
        return f"{prefix}{b64(rnd)}.{sig}", sig

    def signature(self, token: str, prefix: str) -> str | None:
        """The stored signature of `token` if its HMAC verifies with any key, else None."""
        if len(token) > MAX_TOKEN_LENGTH or not token.startswith(prefix):
            return None
        body = token[len(prefix):]
        rnd_text, dot, sig_text = body.partition(".")
        if not dot or not rnd_text or not sig_text:
            return None
        rnd = _unb64(rnd_text)
        sig = _unb64(sig_text)
        if rnd is None or sig is None:
            return None
        for key in self._keys:
            if hmac.compare_digest(self._sign(key, rnd), sig):
                return sig_text
        return None

    def any_signature(self, token: str, prefixes: Sequence[str]) -> tuple[str, str] | None:
        """(prefix, signature) for the first prefix the token verifies under."""
        for prefix in prefixes:
            sig = self.signature(token, prefix)
            if sig is not None:
                return prefix, sig
        return None

    def mac(self, data: bytes) -> bytes:
        """HMAC-SHA256 under the signing key, for cache keys and CSRF values."""
        return hmac.new(self._keys[0], data, "sha256").digest()
