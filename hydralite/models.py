"""Plain data passed between the web layer, the engine and the repository."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class Client:
    """A stored OAuth 2.0 client: the Hydra-shaped document plus what authentication needs."""

    id: str
    metadata: dict[str, Any]
    secret_hash: str | None
    rotated_secrets: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    #: True when authentication was answered from memory; the write that uses it must confirm the row.
    cached: bool = False

    @property
    def auth_method(self) -> str:
        return self.metadata.get("token_endpoint_auth_method") or "client_secret_basic"

    @property
    def is_public(self) -> bool:
        return self.auth_method == "none"

    @property
    def grant_types(self) -> list[str]:
        return self.metadata.get("grant_types") or ["authorization_code"]

    @property
    def response_types(self) -> list[str]:
        return self.metadata.get("response_types") or ["code"]

    @property
    def scopes(self) -> list[str]:
        return (self.metadata.get("scope") or "").split()

    @property
    def audience(self) -> list[str]:
        return self.metadata.get("audience") or []

    @property
    def redirect_uris(self) -> list[str]:
        return self.metadata.get("redirect_uris") or []

    def lifespan(self, key: str) -> str | None:
        return self.metadata.get(key)


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A stored access or refresh token (found by its signature)."""

    signature: str
    request_id: str
    client_id: str
    subject: str
    scope: list[str]
    audience: list[str]
    session: str | None  # sealed JSON (AES-GCM), opened by the engine
    requested_at: datetime
    expires_at: datetime | None
    active: bool
    flow_id: str | None = None


@dataclass(frozen=True, slots=True)
class TokenResponse:
    access_token: str
    expires_in: int
    scope: str
    refresh_token: str | None = None
    id_token: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"access_token": self.access_token, "expires_in": self.expires_in}
        if self.id_token:
            out["id_token"] = self.id_token
        if self.refresh_token:
            out["refresh_token"] = self.refresh_token
        out["scope"] = self.scope
        out["token_type"] = "bearer"
        return out


@dataclass(frozen=True, slots=True)
class NewToken:
    """A token row to insert (the engine mints it; the repository writes it)."""

    signature: str
    request_id: str
    client_id: str
    subject: str
    scope: list[str]
    audience: list[str]
    requested_at: datetime
    expires_at: datetime | None
    session: str | None = None  # sealed JSON, or None when there is nothing to keep
    flow_id: str | None = None
    access_token_signature: str | None = None
