"""Key sets: stored sealed, the newest key signs, cached in memory briefly so signing stays off the database."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson

from hydralite.crypto import keys as jwk
from hydralite.crypto.sealing import Sealer
from hydralite.engine.repository import KeyStorage
from hydralite.errors import conflict

ID_TOKEN_SET = "hydra.openid.id-token"
ACCESS_TOKEN_SET = "hydra.jwt.access-token"
_CACHE_SECONDS = 10.0
#: The key type each known alg needs (EC and OKP algs also a curve). Algs not listed here are taken as they come.
_ALG_KEY_TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    **{alg: (kty, (size,) if isinstance(size, str) else ()) for alg, (kty, size) in jwk.ALGORITHMS.items()},
    "EdDSA": ("OKP", ("Ed25519", "Ed448")),
    "HS256": ("oct", ()), "HS384": ("oct", ()), "HS512": ("oct", ()),
    "RSA1_5": ("RSA", ()), "RSA-OAEP": ("RSA", ()), "RSA-OAEP-256": ("RSA", ()),
}


def alg_fits(key: dict[str, Any]) -> bool:
    """False for a JWK whose `alg` needs another key type or curve (an EC key marked RS256 could never sign).

    Hydra stores such a key as it comes and fails only when it is used; hydralite refuses it on import."""
    want = _ALG_KEY_TYPES.get(key.get("alg") or "")
    if want is None:
        return True
    kty, curves = want
    return key.get("kty") == kty and (not curves or key.get("crv") in curves)


class KeyManager:
    def __init__(self, repo: KeyStorage, secrets: tuple[str, ...]):
        self.repo = repo
        self.sealer = Sealer(secrets, purpose="jwk")
        self._cache: dict[str, tuple[float, list[dict[str, Any]]]] = {}
        self._lock = asyncio.Lock()

    def _open(self, sealed: str) -> dict[str, Any] | None:
        plain = self.sealer.open(sealed)
        return orjson.loads(plain) if plain else None

    def _seal(self, key: dict[str, Any]) -> str:
        return self.sealer.seal(orjson.dumps(key))

    async def get_set(self, set_id: str) -> list[dict[str, Any]]:
        """Private JWKs of the set, newest first (keys sealed with a removed secret are skipped)."""
        rows = await self.repo.get_key_set(set_id)
        return [k for k in (self._open(r["keydata"]) for r in rows) if k]

    def forget(self, set_id: str) -> None:
        self._cache.pop(set_id, None)

    async def add(self, set_id: str, key: dict[str, Any]) -> bool:
        self.forget(set_id)
        return await self.repo.insert_key(set_id, key["kid"], self._seal(key))

    async def create_key(self, set_id: str, alg: str, use: str = "sig", kid: str | None = None,
                         rsa_bits: int | None = None) -> dict[str, Any]:
        key = await asyncio.to_thread(jwk.generate, alg, use, kid, rsa_bits)
        if not await self.add(set_id, key):
            raise conflict()  # the set already has a key with this kid (Hydra: the unique violation)
        return key

    async def put_key(self, set_id: str, key: dict[str, Any]) -> None:
        self.forget(set_id)
        await self.repo.upsert_key(set_id, key["kid"], self._seal(key))

    async def put_set(self, set_id: str, keys: list[dict[str, Any]]) -> None:
        self.forget(set_id)
        await self.repo.replace_key_set(set_id, [(k["kid"], self._seal(k)) for k in keys])

    async def delete_set(self, set_id: str) -> bool:
        self.forget(set_id)
        return await self.repo.delete_key_set(set_id)

    async def delete_key(self, set_id: str, kid: str) -> bool:
        self.forget(set_id)
        return await self.repo.delete_key(set_id, kid)

    async def _cached(self, set_id: str) -> list[dict[str, Any]]:
        hit = self._cache.get(set_id)
        if hit and hit[0] > time.monotonic():
            return hit[1]
        async with self._lock:
            keys = await self.get_set(set_id)
            if not keys and set_id in (ID_TOKEN_SET, ACCESS_TOKEN_SET):
                # First use: RS256 (2048-bit, for signing speed). Another process may race us: the insert
                # happens only if the set is still empty, then we read back whichever key won.
                key = await asyncio.to_thread(jwk.generate, "RS256", "sig", None, 2048)
                await self.repo.insert_first_key(set_id, key["kid"], self._seal(key))
                keys = await self.get_set(set_id)
            self._cache[set_id] = (time.monotonic() + _CACHE_SECONDS, keys)
            return keys

    async def signing_key(self, set_id: str) -> dict[str, Any]:
        keys = [k for k in await self._cached(set_id) if k.get("use", "sig") == "sig" and "d" in k]
        if not keys:
            raise LookupError(f"key set {set_id} has no private signing key")
        return keys[0]

    async def sign(self, set_id: str, claims: dict[str, Any]) -> str:
        return jwk.sign(await self.signing_key(set_id), claims)

    async def verify(self, token: str, set_id: str, accept_expired: bool = False) -> dict[str, Any] | None:
        return jwk.verify(token, await self._cached(set_id), accept_expired=accept_expired)

    async def public_jwks(self) -> dict[str, Any]:
        keys = [*await self._cached(ID_TOKEN_SET), *await self._cached(ACCESS_TOKEN_SET)]
        return {"keys": [jwk.public(k) for k in keys]}
