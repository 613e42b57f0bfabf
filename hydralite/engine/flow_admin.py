"""The admin side of login, consent and sessions: what a login/consent UI calls (REFERENCE.md §1b, §6a)."""

from __future__ import annotations

import secrets as _secrets
from typing import Any
from urllib.parse import urlencode

from hydralite.engine import logout
from hydralite.engine.client_registry import ClientRegistry
from hydralite.engine.clients import rfc3339
from hydralite.engine.core import Engine
from hydralite.engine.flow_bodies import accepted_consent, accepted_login, consent_failure, login_failure, rejection
from hydralite.engine.flows import expired
from hydralite.errors import APIError, InvalidRequest, RequestUnauthorized, ResourceNotFound

_LOGIN_OPEN = ("login_pending", "login_accepted", "login_rejected")
_CONSENT_OPEN = ("consent_pending", "consent_accepted", "consent_rejected")


def _not_found() -> Exception:
    return ResourceNotFound()  # Hydra's x.ErrNotFound: a challenge it cannot decode


def _gone(flow: Any) -> APIError:
    return APIError(410, "Gone", "The request has already been handled.", body={"redirect_to": flow["request_url"]})


def _expired(kind: str) -> Exception:
    return RequestUnauthorized(f"The {kind} request has expired, please try again.")


def _with(url: str, name: str, value: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode({name: value})}"


class FlowAdmin:
    def __init__(self, engine: Engine, registry: ClientRegistry):
        self.engine = engine
        self.registry = registry

    async def _flow(self, challenge: str, kind: str, open_states: tuple[str, ...]) -> Any:
        if not challenge or len(challenge) > 64:
            raise _not_found()
        flow = await self.engine.repo.get_flow(challenge, kind)
        if flow is None:
            raise _not_found()
        if flow["status"] not in open_states:
            raise _gone(flow)
        if expired(self.engine, flow):
            raise _expired(kind)
        return flow

    def _oidc_context(self, flow: Any) -> dict[str, Any]:
        req = flow["request"]
        out: dict[str, Any] = {"acr_values": req.get("acr_values") or [], "display": req.get("display") or "",
                               "id_token_hint_claims": req.get("id_token_hint_claims") or {},
                               "login_hint": req.get("login_hint") or "", "ui_locales": req.get("ui_locales") or []}
        return out

    async def _client(self, client_id: str) -> dict[str, Any]:
        return self.registry.render(await self.registry.get(client_id))

    async def get_login(self, challenge: str) -> dict[str, Any]:
        flow = await self._flow(challenge, "login", _LOGIN_OPEN)
        return {
            "challenge": flow["id"],
            "client": await self._client(flow["client_id"]),
            "oidc_context": self._oidc_context(flow),
            "request_url": flow["request_url"],
            "requested_access_token_audience": list(flow["requested_audience"]),
            "requested_scope": list(flow["requested_scope"]),
            "session_id": flow["login_session_id"],
            "skip": flow["login_skip"],
            "subject": flow["subject"],
        }

    async def accept_login(self, challenge: str, body: Any) -> dict[str, str]:
        stored = accepted_login(body)  # Hydra decodes and checks the body before it looks at the challenge
        flow = await self._flow(challenge, "login", _LOGIN_OPEN)
        if flow["login_skip"] and stored["subject"] != flow["subject"]:
            # Hydra: a different user on a skipped login restarts the login with prompt=login.
            return {"redirect_to": _with(flow["request_url"], "prompt", "login")}
        return await self._handle_login(flow, "login_accepted", stored)

    async def reject_login(self, challenge: str, body: Any) -> dict[str, str]:
        stored = rejection(body, login_failure)
        flow = await self._flow(challenge, "login", _LOGIN_OPEN)
        return await self._handle_login(flow, "login_rejected", stored)

    async def _handle_login(self, flow: Any, status: str, stored: dict[str, Any]) -> dict[str, str]:
        verifier = _secrets.token_hex(16)
        row = await self.engine.repo.handle_login(flow["id"], status, stored, verifier)
        if row is None:
            raise _gone(flow)
        return {"redirect_to": _with(flow["request_url"], "login_verifier", verifier)}

    async def get_consent(self, challenge: str) -> dict[str, Any]:
        flow = await self._flow(challenge, "consent", _CONSENT_OPEN)
        login = flow["login"] or {}
        return {
            "acr": login.get("acr", ""),
            "amr": login.get("amr", []),
            "challenge": flow["consent_challenge"],
            "client": await self._client(flow["client_id"]),
            "consent_request_id": flow["consent_challenge"],
            "context": login.get("context") or {},
            "login_challenge": flow["id"],
            "login_session_id": flow["login_session_id"],
            "oidc_context": self._oidc_context(flow),
            "request_url": flow["request_url"],
            "requested_access_token_audience": list(flow["requested_audience"]),
            "requested_scope": list(flow["requested_scope"]),
            "skip": flow["consent_skip"],
            "subject": flow["subject"],
        }

    async def accept_consent(self, challenge: str, body: Any) -> dict[str, str]:
        accepted = accepted_consent(body)
        flow = await self._flow(challenge, "consent", _CONSENT_OPEN)
        scope, audience = accepted["grant_scope"], accepted["grant_access_token_audience"]
        # A consent app may grant less than was requested, never more (SECURITY E8; Hydra does not check).
        extra = [s for s in scope if s not in flow["requested_scope"]] + \
            [a for a in audience if a not in flow["requested_audience"]]
        if extra:
            raise InvalidRequest(f"'{extra[0]}' was not requested and cannot be granted.")
        stored = {"session": accepted["session"], "context": accepted["context"]}
        return await self._handle_consent(flow, "consent_accepted", stored, scope, audience,
                                          accepted["remember"], accepted["remember_for"])

    async def reject_consent(self, challenge: str, body: Any) -> dict[str, str]:
        stored = rejection(body, consent_failure)
        flow = await self._flow(challenge, "consent", _CONSENT_OPEN)
        return await self._handle_consent(flow, "consent_rejected", stored, [], [], False, 0)

    async def _handle_consent(self, flow: Any, status: str, stored: dict[str, Any], scope: list[str],
                              audience: list[str], remember: bool, remember_for: int) -> dict[str, str]:
        verifier = _secrets.token_hex(16)
        row = await self.engine.repo.handle_consent(flow["consent_challenge"], status, stored, verifier, scope,
                                                    audience, remember, remember_for)
        if row is None:
            raise _gone(flow)
        return {"redirect_to": _with(flow["request_url"], "consent_verifier", verifier)}

    async def list_consent_sessions(self, subject: str, session_id: str | None, page_size: int, offset: int
                                    ) -> list[dict[str, Any]]:
        rows = await self.engine.repo.list_consent_sessions(subject, session_id, page_size, offset)
        out = []
        for f in rows:
            consent, login = f["consent"] or {}, f["login"] or {}
            session = consent.get("session") or {}
            client = self.registry.render(_client_row(f))
            out.append({
                "consent_request": {
                    "acr": login.get("acr", ""), "amr": login.get("amr", []), "challenge": f["consent_challenge"],
                    "client": client, "consent_request_id": f["consent_challenge"],
                    "context": login.get("context") or {}, "login_challenge": f["id"],
                    "login_session_id": f["login_session_id"], "oidc_context": self._oidc_context(f),
                    "request_url": f["request_url"], "requested_access_token_audience": list(f["requested_audience"]),
                    "requested_scope": list(f["requested_scope"]), "skip": f["consent_skip"],
                    "subject": f["subject"]},
                "consent_request_id": f["consent_challenge"],
                "context": consent.get("context") or {},
                "grant_access_token_audience": list(f["granted_audience"]),
                "grant_scope": list(f["granted_scope"]),
                "handled_at": rfc3339(f["consent_handled_at"]),
                "remember": f["consent_remember"],
                "remember_for": f["consent_remember_for"],
                "session": {"access_token": session.get("access_token") or {},
                            "id_token": session.get("id_token") or {}},
            })
        return out

    async def revoke_consent(self, subject: str, client_id: str | None) -> None:
        """Forget the subject's consent for one client, or for every client when client_id is None."""
        await self.engine.repo.revoke_consent(subject, client_id)

    async def revoke_consent_request(self, challenge: str) -> None:
        """Forget the consent granted by one consent request."""
        await self.engine.repo.revoke_consent_by_challenge(challenge)

    async def revoke_login_session(self, session_id: str) -> None:
        """Hydra's headless logout: end the session and tell its clients over the back channel."""
        await logout.end_session(self.engine, session_id)

    async def revoke_login_sessions(self, subject: str) -> None:
        """Sign the subject out everywhere: every login session of theirs."""
        await self.engine.repo.delete_login_sessions_of_subject(subject)


def _client_row(f: Any) -> Any:
    from hydralite.models import Client

    return Client(id=f["client_id"], metadata=f["client_metadata"], secret_hash=None, rotated_secrets=(),
                  created_at=f["client_created_at"], updated_at=f["client_updated_at"])

