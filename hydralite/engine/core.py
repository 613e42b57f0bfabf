"""The Engine: one object holding what every protocol module needs, built once by server.py."""

from __future__ import annotations

import secrets as _secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from hydralite.config import Config, parse_duration
from hydralite.crypto.cookies import CookieSigner
from hydralite.crypto.hashing import SecretHasher
from hydralite.crypto.sealing import Sealer
from hydralite.crypto.tokens import TokenCodec
from hydralite.engine.client_assertion import ClientAssertions
from hydralite.engine.client_auth import VerifiedClients
from hydralite.engine.keys import KeyManager
from hydralite.engine.outbound import Outbound
from hydralite.engine.repository import Repository
from hydralite.engine.scopes import ScopeStrategy
from hydralite.models import Client


@dataclass
class Engine:
    config: Config
    repo: Repository
    codec: TokenCodec
    hasher: SecretHasher
    sealer: Sealer
    scopes: ScopeStrategy
    cookies: CookieSigner
    keys: KeyManager
    verified: VerifiedClients
    outbound: Outbound
    assertions: ClientAssertions

    @classmethod
    def build(cls, config: Config, repo: Repository) -> Engine:
        outbound = Outbound(config)
        return cls(
            config=config,
            repo=repo,
            codec=TokenCodec(config.secrets_system),
            hasher=SecretHasher(time_cost=config.argon2_time_cost, memory_kib=config.argon2_memory_kib,
                                parallelism=config.argon2_parallelism, threads=config.argon2_threads),
            sealer=Sealer(config.secrets_system),
            scopes=ScopeStrategy(config.scope_strategy),
            cookies=CookieSigner(config.secrets_cookie or config.secrets_system),
            keys=KeyManager(repo, config.secrets_system),
            verified=VerifiedClients(),
            outbound=outbound,
            assertions=ClientAssertions(config, outbound, repo),
        )

    def lifespan(self, client: Client, key: str, default: float) -> float:
        """A per-client lifespan (e.g. client_credentials_grant_access_token_lifespan) or the global TTL."""
        value = client.lifespan(key)
        return parse_duration(value) if value else default

    def seal(self, data: dict[str, Any]) -> str | None:
        return self.sealer.seal(orjson.dumps(data)) if data else None

    def open(self, sealed: str | None) -> dict[str, Any]:
        if not sealed:
            return {}
        plain = self.sealer.open(sealed)
        return orjson.loads(plain) if plain else {}


def now() -> datetime:
    return datetime.now(UTC)


def expiry(start: datetime, seconds: float) -> datetime | None:
    """Expiry from a lifespan; -1 means never (Hydra's refresh token convention)."""
    return None if seconds < 0 else start + timedelta(seconds=seconds)


def request_id() -> str:
    """The id shared by every token minted from one grant (revocation and reuse act on it)."""
    return _secrets.token_hex(16)
