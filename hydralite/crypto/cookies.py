"""Cookie values: HMAC-signed, compared in constant time; Hydra's per-client CSRF cookie names."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit, which Hydra uses to suffix CSRF cookie names with the client id."""
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed
    rounded = len(data) & ~3
    for i in range(0, rounded, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * c1) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
        h = ((h << 13) | (h >> 19)) & 0xFFFFFFFF
        h = (h * 5 + 0xE6546B64) & 0xFFFFFFFF
    k = 0
    tail = data[rounded:]
    if len(tail) >= 3:
        k ^= tail[2] << 16
    if len(tail) >= 2:
        k ^= tail[1] << 8
    if tail:
        k ^= tail[0]
        k = (k * c1) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h


class CookieSigner:
    def __init__(self, secrets: Sequence[str]):
        self._keys = [hashlib.sha256(("cookie\0" + s).encode()).digest() for s in secrets]

    def _mac(self, key: bytes, value: str) -> str:
        return base64.urlsafe_b64encode(hmac.new(key, value.encode(), "sha256").digest()).rstrip(b"=").decode()

    def sign(self, value: str) -> str:
        return f"{value}.{self._mac(self._keys[0], value)}"

    def unsign(self, signed: str | None) -> str | None:
        if not signed or len(signed) > 512:
            return None
        value, dot, mac = signed.rpartition(".")
        if not dot:
            return None
        for key in self._keys:
            if hmac.compare_digest(self._mac(key, value), mac):
                return value
        return None
