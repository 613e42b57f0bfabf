"""The admin clients API (REFERENCE.md §1b, §2): create, read, list, replace, patch, delete, lifespans."""

from __future__ import annotations

import time
from typing import Any

import jsonpatch
import orjson

from hydralite.crypto.sealing import Sealer
from hydralite.crypto.tokens import ACCESS
from hydralite.engine import clients, pairwise
from hydralite.engine.core import Engine
from hydralite.errors import bad_request, not_found
from hydralite.models import Client

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500
_PAGE_TOKEN_TTL = 3600


class ClientRegistry:
    def __init__(self, engine: Engine):
        self.engine = engine
        config = engine.config
        self.pages = Sealer(config.secrets_pagination or config.secrets_system, purpose="pagination")

    def render(self, client: Client, secret: str | None = None, extra: dict[str, str] | None = None,
               nulls: frozenset[str] = frozenset()) -> dict[str, Any]:
        return clients.serialize(client.metadata, client_id=client.id, created_at=client.created_at,
                                 updated_at=client.updated_at, secret=secret, extra=extra, nulls=nulls)

    async def _hash(self, secret: str) -> str:
        return await self.engine.hasher.hash(secret)

    async def create(self, body: Any, *, dynamic: bool = False) -> dict[str, Any]:
        """Admin create, or with `dynamic` OpenID Connect Dynamic Client Registration (Hydra's CreateClient)."""
        fields = clients.decode(body)
        if dynamic:
            if fields.get("client_secret"):
                raise bad_request("It is not allowed to choose your own OAuth2 Client secret.")
            clients.check_dynamic(fields)
            fields["client_id"] = clients.new_client_id()  # never chosen by a self-registering client
        secret = fields.get("client_secret") or clients.generate_secret()
        fields["client_secret"] = secret
        doc = clients.validate(fields, self.engine.config)
        await pairwise.check_client(self.engine, doc)
        client_id = fields.get("client_id") or clients.new_client_id()
        public = doc["token_endpoint_auth_method"] == "none"
        secret_hash = None if public else await self._hash(secret)
        token, signature = self.engine.codec.generate(ACCESS)
        client = await self.engine.repo.insert_client(client_id, secret_hash, signature, doc, clients.now_utc())
        extra = {"registration_access_token": token,
                 "registration_client_uri": clients.registration_client_uri(self.engine.config.public_url,
                                                                            fields.get("client_id"))}
        return self.render(client, None if public else secret, extra, clients.unset_lists(fields))

    async def get(self, client_id: str) -> Client:
        client = await self.engine.repo.get_client(client_id) if storable(client_id) else None
        if client is None:
            raise not_found()
        return client

    async def get_rendered(self, client_id: str) -> dict[str, Any]:
        return self.render(await self.get(client_id))

    async def list(self, page_size: str | None, page_token: str | None, name: str | None, owner: str | None
                   ) -> tuple[list[dict[str, Any]], str | None, int]:
        """One page of clients ordered by id, the token of the next page (None on the last) and the size."""
        size = DEFAULT_PAGE_SIZE
        if page_size:
            try:
                size = int(page_size)
            except ValueError as exc:
                raise bad_request("Unable to parse pagination parameters: page_size must be an integer") from exc
            size = DEFAULT_PAGE_SIZE if size <= 0 else min(size, MAX_PAGE_SIZE)
        after = ""
        if page_token:
            after = self._open_page_token(page_token)
        if not all(storable(v, 1 << 20) for v in (name or "", owner or "")):
            return [], None, size  # no stored client can match a value PostgreSQL cannot even hold
        rows = await self.engine.repo.list_clients(size + 1, after, name or None, owner or None)
        next_token = self._page_token(rows[size - 1].id) if len(rows) > size else None
        return [self.render(c) for c in rows[:size]], next_token, size

    def _page_token(self, last_id: str) -> str:
        return self.pages.seal(orjson.dumps({"e": int(time.time()) + _PAGE_TOKEN_TTL, "id": last_id}))

    def _open_page_token(self, token: str) -> str:
        plain = self.pages.open(token)
        data = orjson.loads(plain) if plain else None
        if not isinstance(data, dict) or not isinstance(data.get("id"), str) or data.get("e", 0) < time.time():
            raise bad_request("Unable to parse pagination parameters: the page token is invalid or expired")
        return data["id"]

    async def replace(self, client_id: str, body: Any) -> dict[str, Any]:
        fields = clients.decode(body)
        existing = await self.get(client_id)
        return await self._store(existing, fields)

    async def _store(self, existing: Client, fields: dict[str, Any]) -> dict[str, Any]:
        secret = fields.get("client_secret") or ""
        doc = clients.validate(fields, self.engine.config)
        await pairwise.check_client(self.engine, doc)
        new_hash = await self._hash(secret) if secret else None
        client = await self.engine.repo.update_client(existing.id, new_hash, doc, clients.now_utc())
        if client is None:
            raise not_found()
        return self.render(client, secret or None, nulls=clients.unset_lists(fields))

    async def patch(self, client_id: str, body: Any) -> dict[str, Any]:
        existing = await self.get(client_id)
        if not isinstance(body, list):
            raise bad_request("Unable to decode JSON Patch: expected an array of operations")
        for op in body:
            if not isinstance(op, dict):
                raise bad_request("Unable to decode JSON Patch: every operation must be an object")
            path = op.get("path")
            if path in ("/client_id", "/id", "/rotated_secrets") or (
                    isinstance(path, str) and path.startswith("/rotated_secrets/")):
                raise bad_request(f"The JSON Patch path '{path}' may not be changed.")
            if op.get("op") == "replace" and isinstance(path, str) and not _element_access(path):
                op["op"] = "add"  # Hydra: replace on a missing member behaves as add; array elements are replaced
        current = dict(existing.metadata)
        current["client_id"] = existing.id
        current["client_secret"] = ""
        try:
            patched = jsonpatch.apply_patch(current, body)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException, TypeError, ValueError) as exc:
            raise bad_request(f"Unable to apply JSON Patch: {exc}") from exc
        fields = clients.decode(patched)
        return await self._store(existing, fields)

    async def delete(self, client_id: str) -> None:
        if not storable(client_id) or not await self.engine.repo.delete_client(client_id):
            raise not_found()

    async def set_lifespans(self, client_id: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise bad_request("Unable to decode the request body: expected a JSON object")
        existing = await self.get(client_id)
        doc = dict(existing.metadata)
        for key in clients.LIFESPANS:
            doc[key] = clients.decode_lifespan(key, body.get(key))
        client = await self.engine.repo.update_client(existing.id, None, doc, clients.now_utc())
        if client is None:
            raise not_found()
        return self.render(client)


def storable(value: str, limit: int = clients.MAX_ID_LENGTH) -> bool:
    """False for ids no client can have (NUL, overlong): answer 404 / nothing without asking PostgreSQL."""
    return len(value) <= limit and "\x00" not in value


def _element_access(path: str) -> bool:
    """True for a JSON pointer to an array element (`/redirect_uris/0`, `/contacts/-`), as Hydra's jsonx decides."""
    last = path.rsplit("/", 1)[-1]
    return last == "-" or last.lstrip("-").isdigit()

