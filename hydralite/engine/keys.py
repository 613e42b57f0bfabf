"""Key sets: stored sealed, the newest key signs, all verify; cached in memory briefly (imported, ready to sign)
so signing and verifying stay off the database."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from hydralite.crypto import keys as jwk
from hydralite.crypto.sealing import Sealer
from hydralite.engine.repository import KeyStorage
from hydralite.errors import conflict

ID_TOKEN_SET = "hydra.openid.id-token"
ACCESS_TOKEN_SET = "hydra.jwt.access-token"
_CACHE_SECONDS = 10.0
_REFRESH_FLOOR = 1.0
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


@dataclass(slots=True)
class _Cached:
    """One key set as the signing and verifying paths need it: imported once, kept for a few seconds."""

    until: float
    keys: list[dict[str, Any]]
    signer: jwk.Signer | None
    verifier: jwk.Verifier


class KeyManager:
    """Key sets by name. Writes through this manager drop the cached set at once and announce it (`on_change`,
    db/notify.py), so other workers and servers drop theirs before their next request; without those messages they
    see a change within `_CACHE_SECONDS`, or at once when a token names a `kid` their cached set does not have."""

    def __init__(self, repo: KeyStorage, secrets: tuple[str, ...]):
        self.repo = repo
        self.sealer = Sealer(secrets, purpose="jwk")
        self._cache: dict[str, _Cached] = {}
        #: Bumped by every write: a load that started before the write must not refill the cache afterwards.
        self._generation: dict[str, int] = {}
        #: When each set was last reloaded because a token named a kid it did not have.
        self._forced: dict[str, float] = {}
        #: Bumped when every set is dropped at once (forget("*")).
        self._epoch = 0
        self._lock = asyncio.Lock()
        #: Called with the set id after every write, to tell the other workers and servers (db/notify.py).
        self.on_change: Callable[[str], Awaitable[None]] | None = None

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
        """Drop one cached set, or every set for "*" (a message from another process, or messages missed)."""
        if set_id == "*":
            self._cache.clear()
            self._epoch += 1
            return
        self._cache.pop(set_id, None)
        self._generation[set_id] = self._generation.get(set_id, 0) + 1

    async def _changed(self, set_id: str) -> None:
        self.forget(set_id)
        if self.on_change is not None:
            await self.on_change(set_id)

    async def add(self, set_id: str, key: dict[str, Any]) -> bool:
        try:
            return await self.repo.insert_key(set_id, key["kid"], self._seal(key))
        finally:
            await self._changed(set_id)

    async def create_key(self, set_id: str, alg: str, use: str = "sig", kid: str | None = None,
                         rsa_bits: int | None = None) -> dict[str, Any]:
        """A new key; being the newest, it signs from now on (Hydra's FindPrivateKey takes the first of the set
        ordered by created_at DESC), while the older keys still verify until they are deleted."""
        key = await asyncio.to_thread(jwk.generate, alg, use, kid, rsa_bits)
        if not await self.add(set_id, key):
            raise conflict()  # the set already has a key with this kid (Hydra: the unique violation)
        return key

    async def put_key(self, set_id: str, key: dict[str, Any]) -> None:
        try:
            await self.repo.upsert_key(set_id, key["kid"], self._seal(key))
        finally:
            await self._changed(set_id)

    async def put_set(self, set_id: str, keys: list[dict[str, Any]]) -> None:
        try:
            await self.repo.replace_key_set(set_id, [(k["kid"], self._seal(k)) for k in keys])
        finally:
            await self._changed(set_id)

    async def delete_set(self, set_id: str) -> bool:
        try:
            return await self.repo.delete_key_set(set_id)
        finally:
            await self._changed(set_id)

    async def delete_key(self, set_id: str, kid: str) -> bool:
        try:
            return await self.repo.delete_key(set_id, kid)
        finally:
            await self._changed(set_id)

    async def _cached(self, set_id: str, *, refresh: bool = False) -> _Cached:
        """The set from memory; `refresh` reloads it, at most once a second (so tokens naming unknown kids
        cannot turn every request into a database read)."""
        hit = self._cache.get(set_id)
        if refresh:
            clock = time.monotonic()
            if self._forced.get(set_id, -_REFRESH_FLOOR) + _REFRESH_FLOOR > clock and hit is not None:
                return hit
            self._forced[set_id] = clock
            self._cache.pop(set_id, None)
            hit = None
        if hit and hit.until > time.monotonic():
            return hit
        async with self._lock:
            hit = self._cache.get(set_id)
            if hit and hit.until > time.monotonic():
                return hit  # another task loaded it while this one waited for the lock
            generation = (self._epoch, self._generation.get(set_id, 0))
            keys = await self.get_set(set_id)
            if not keys and set_id in (ID_TOKEN_SET, ACCESS_TOKEN_SET):
                # First use: RS256 (2048-bit, for signing speed). Another process may race us: the insert
                # happens only if the set is still empty, then we read back whichever key won.
                key = await asyncio.to_thread(jwk.generate, "RS256", "sig", None, 2048)
                await self.repo.insert_first_key(set_id, key["kid"], self._seal(key))
                keys = await self.get_set(set_id)
            private = [k for k in keys if k.get("use", "sig") == "sig" and "d" in k]
            # Importing a private RSA key costs ~40 ms: done once per load, in a thread, never per token.
            signer = await asyncio.to_thread(jwk.Signer, private[0]) if private else None
            entry = _Cached(time.monotonic() + _CACHE_SECONDS, keys, signer, jwk.Verifier(keys))
            if (self._epoch, self._generation.get(set_id, 0)) == generation:
                self._cache[set_id] = entry
            return entry

    async def signing_key(self, set_id: str) -> dict[str, Any]:
        signer = (await self._cached(set_id)).signer
        if signer is None:
            raise LookupError(f"key set {set_id} has no private signing key")
        return signer.jwk

    async def sign(self, set_id: str, claims: dict[str, Any]) -> str:
        signer = (await self._cached(set_id)).signer
        if signer is None:
            raise LookupError(f"key set {set_id} has no private signing key")
        return signer.sign(claims)

    async def verify(self, token: str, set_id: str, accept_expired: bool = False) -> dict[str, Any] | None:
        """Claims of a JWT signed by any key of the set (older keys verify until deleted), else None."""
        cached = await self._cached(set_id)
        claims = cached.verifier.verify(token, accept_expired=accept_expired)
        if claims is None and (kid := jwk.header_kid(token)) is not None and kid not in cached.verifier.kids:
            # A kid this process has not seen: another process may have just added it through the keys API.
            cached = await self._cached(set_id, refresh=True)
            if kid in cached.verifier.kids:
                claims = cached.verifier.verify(token, accept_expired=accept_expired)
        return claims

    async def public_jwks(self) -> dict[str, Any]:
        """Hydra's /.well-known/jwks.json: the access-token set, then the ID-token set, public halves only."""
        keys = [*(await self._cached(ACCESS_TOKEN_SET)).keys, *(await self._cached(ID_TOKEN_SET)).keys]
        return {"keys": [jwk.public(k) for k in keys]}
