"""AES-256-GCM sealing at rest and for opaque handles (page tokens, challenges).

sealed = b64url(nonce12 || ciphertext || tag). The first key seals; every key opens,
so rotating SECRETS_SYSTEM keeps old data readable.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


class Sealer:
    def __init__(self, secrets: Sequence[str], purpose: str = ""):
        # A purpose label separates key uses (page tokens can never open a challenge).
        self._aeads = [AESGCM(hashlib.sha256((purpose + "\0" + s if purpose else s).encode()).digest())
                       for s in secrets]

    def seal(self, plaintext: bytes, aad: bytes | None = None) -> str:
        nonce = os.urandom(12)
        blob = nonce + self._aeads[0].encrypt(nonce, plaintext, aad)
        return base64.urlsafe_b64encode(blob).rstrip(b"=").decode("ascii")

    def open(self, sealed: str, aad: bytes | None = None) -> bytes | None:
        """The plaintext, or None for anything forged, truncated or sealed with an unknown key."""
        if len(sealed) > 65536:
            return None
        try:
            blob = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
        except (ValueError, TypeError):
            return None
        if len(blob) < 12 + 16:
            return None
        nonce, body = blob[:12], blob[12:]
        for aead in self._aeads:
            try:
                return aead.decrypt(nonce, body, aad)
            except InvalidTag:
                continue
        return None
