"""Repository methods of the device authorization grant (RFC 8628): device codes, device challenges, guesses."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import asyncpg

from hydralite.db.store import PgStore
from hydralite.models import NewToken

if TYPE_CHECKING:
    from hydralite.db.pool import Conn


class PgDeviceStore(PgStore):
    """DeviceStorage of engine.repository."""

    async def insert_device_code(self, signature: str, user_code_signature: str, client_id: str, scope: list[str],
                                 audience: list[str], requested_at: datetime, expires_at: datetime) -> bool:
        row = await self.fetchrow("insert_device_code", signature, user_code_signature, client_id, scope, audience,
                                  requested_at, expires_at)
        return row is not None

    async def get_device_code(self, signature: str) -> asyncpg.Record | None:
        return await self.fetchrow("get_device_code", signature, retry=True)

    async def poll_device_code(self, signature: str) -> asyncpg.Record | None:
        return await self.fetchrow("poll_device_code", signature)

    async def exchange_device_code(self, signature: str, at: NewToken, rt: NewToken | None) -> bool:
        row = await self.fetchrow(
            "exchange_device_code", signature, at.signature, at.client_id, at.subject, at.scope, at.audience,
            at.session, at.requested_at, at.expires_at, rt.signature if rt else None, rt.session if rt else None,
            rt.expires_at if rt else None)
        return bool(row and row[0])

    async def insert_device_challenge(self, challenge: str, csrf: str, request_url: str, client_ip: str,
                                      requested_at: datetime) -> None:
        await self.execute("insert_device_challenge", challenge, csrf, request_url, client_ip, requested_at)

    async def get_device_challenge(self, challenge: str) -> asyncpg.Record | None:
        return await self.fetchrow("get_device_challenge", challenge, retry=True)

    async def claim_user_code(self, challenge: str, client_ip: str, user_code_signature: str, verifier: str,
                              per_challenge: int, per_ip: int) -> tuple[str, str]:
        q = self.q

        async def work(conn: Conn) -> tuple[str, str]:
            async with conn.transaction():
                if await conn.fetchval(q["device_guess_window"], client_ip) >= per_ip:
                    return "limited", ""
                row = await conn.fetchrow(q["claim_user_code"], challenge, user_code_signature, verifier,
                                          per_challenge)
                status = row["status"] if row else None
                if status is None:
                    return "closed", ""
                if row is not None and status == "accepted":
                    return "accepted", row["client_id"]
                await conn.execute(q["device_guess_failed"], client_ip)
                return "wrong", ""

        return await self.run(work, name="claim_user_code")

    async def device_verifier_csrf(self, verifier: str) -> str | None:
        row = await self.fetchrow("device_verifier_csrf", verifier)
        return None if row is None else str(row["csrf"])

    async def spend_device_verifier(self, verifier: str, csrf: str) -> asyncpg.Record | None:
        return await self.fetchrow("spend_device_verifier", verifier, csrf)

    async def approve_device_code(self, signature: str, request_id: str, subject: str, scope: list[str],
                                  audience: list[str], session: str | None) -> bool:
        row = await self.fetchrow("approve_device_code", signature, request_id, subject, scope, audience, session)
        return row is not None

    async def deny_device_code(self, kind: str, verifier: str) -> None:
        await self.execute("deny_device_after_login" if kind == "login" else "deny_device_after_consent", verifier)
