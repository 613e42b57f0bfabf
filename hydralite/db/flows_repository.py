"""Repository methods of the browser flow: flows, login sessions, authorization codes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from hydralite.db.store import PgStore
from hydralite.models import NewToken


class PgFlowStore(PgStore):
    """FlowStorage and SessionStorage of engine.repository."""

    async def insert_flow(self, flow_id: str, client_id: str, request: dict[str, Any], request_url: str,
                          scope: list[str], audience: list[str], skip: bool, subject: str,
                          session_id: str | None, csrf: str, authenticated_at: datetime | None,
                          requested_at: datetime) -> None:
        await self.execute("insert_flow", flow_id, client_id, request, request_url, scope, audience, skip, subject,
                           session_id, csrf, authenticated_at, requested_at)

    async def get_flow(self, challenge: str, kind: str) -> asyncpg.Record | None:
        name = "get_flow_by_login" if kind == "login" else "get_flow_by_consent"
        return await self.fetchrow(name, challenge, retry=True)

    async def handle_login(self, challenge: str, status: str, body: dict[str, Any], verifier: str
                           ) -> asyncpg.Record | None:
        return await self.fetchrow("handle_login", challenge, status, body, verifier)

    async def spend_login_verifier(self, verifier: str) -> asyncpg.Record | None:
        return await self.fetchrow("spend_login_verifier", verifier)

    async def start_consent(self, flow_id: str, challenge: str, csrf: str, skip: bool, subject: str,
                            session_id: str | None, authenticated_at: datetime) -> asyncpg.Record | None:
        return await self.fetchrow("start_consent", flow_id, challenge, csrf, skip, subject, session_id,
                                   authenticated_at)

    async def handle_consent(self, challenge: str, status: str, body: dict[str, Any], verifier: str,
                             scope: list[str], audience: list[str], remember: bool, remember_for: int
                             ) -> asyncpg.Record | None:
        return await self.fetchrow("handle_consent", challenge, status, body, verifier, scope, audience, remember,
                                   remember_for)

    async def spend_consent_verifier(self, verifier: str) -> asyncpg.Record | None:
        return await self.fetchrow("spend_consent_verifier", verifier)

    async def remembered_consent(self, subject: str, client_id: str) -> asyncpg.Record | None:
        return await self.fetchrow("remembered_consent", subject, client_id, retry=True)

    async def forced_subject_known(self, subject: str, client_id: str, forced: str) -> bool:
        row = await self.fetchrow("forced_subject_known", subject, client_id, forced, retry=True)
        return bool(row and row[0])

    async def list_consent_sessions(self, subject: str, session_id: str | None, limit: int, offset: int
                                    ) -> list[asyncpg.Record]:
        return await self.fetch("list_consent_sessions", subject, session_id, limit, offset, retry=True)

    async def revoke_consent(self, subject: str, client_id: str | None) -> None:
        await self.execute("revoke_consent", subject, client_id, None)

    async def revoke_consent_by_challenge(self, challenge: str) -> None:
        await self.execute("revoke_consent_by_challenge", challenge)

    async def get_login_session(self, session_id: str) -> asyncpg.Record | None:
        return await self.fetchrow("get_login_session", session_id, retry=True)

    async def upsert_login_session(self, session_id: str, subject: str, authenticated_at: datetime, remember: bool,
                                   expires_at: datetime) -> None:
        await self.execute("upsert_login_session", session_id, subject, authenticated_at, remember, expires_at)

    async def delete_login_session(self, session_id: str) -> None:
        await self.execute("delete_login_session", session_id)

    async def delete_login_sessions_of_subject(self, subject: str) -> None:
        await self.execute("delete_login_sessions_of_subject", subject)

    async def insert_auth_code(self, signature: str, request_id: str, client_id: str, subject: str,
                               scope: list[str], audience: list[str], redirect_uri: str, code_challenge: str,
                               session: str | None, requested_at: datetime, expires_at: datetime) -> None:
        await self.execute("insert_auth_code", signature, request_id, client_id, subject, scope, audience,
                           redirect_uri, code_challenge, session, requested_at, expires_at)

    async def get_auth_code(self, signature: str) -> asyncpg.Record | None:
        return await self.fetchrow("get_auth_code", signature, retry=True)

    async def exchange_code(self, code_signature: str, at: NewToken, rt: NewToken | None) -> bool:
        """Spend the code and write its tokens atomically; False when another exchange won."""
        row = await self.fetchrow(
            "exchange_code", code_signature, at.signature, at.client_id, at.subject, at.scope, at.audience,
            at.session, at.requested_at, at.expires_at, rt.signature if rt else None, rt.session if rt else None,
            rt.expires_at if rt else None)
        return bool(row and row[0])

    async def rotate_refresh(self, old_signature: str, at: NewToken, rt: NewToken) -> bool:
        row = await self.fetchrow(
            "rotate_refresh", old_signature, at.signature, at.client_id, at.subject, at.scope, at.audience,
            at.session, at.requested_at, at.expires_at, rt.signature, rt.session, rt.expires_at)
        return bool(row and row[0])
