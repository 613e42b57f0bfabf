"""Admin routes for login/consent requests and sessions (what a login/consent UI calls)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hydralite.engine.flow_admin import FlowAdmin
from hydralite.engine.flow_bodies import Failure, consent_failure, login_failure
from hydralite.engine.logout import Logout
from hydralite.errors import APIError, InvalidRequest, RequestUnauthorized, ResourceNotFound
from hydralite.web.common import api_json, read_json

_UNDECODABLE = "Unable to decode the request body: "


def _query_challenge(request: Request, kind: str) -> str:
    q = request.query_params
    return q.get(f"{kind}_challenge") or q.get("challenge") or ""


def _challenge(request: Request, kind: str) -> str:
    value = _query_challenge(request, kind)
    if not value:
        raise InvalidRequest("Query parameter 'challenge' is not defined but should have been.")
    return value


async def _body(request: Request, fail: Failure) -> Any:
    """The JSON body (an empty one too is refused, as Go's decoder refuses it); a body that does not decode
    fails as the login or the consent handler of Hydra words it."""
    try:
        return await read_json(request)
    except APIError as exc:
        if exc.status_code != 400:
            raise
        raise fail(exc.description.removeprefix(_UNDECODABLE)) from exc


def routes(admin: FlowAdmin) -> list[Route]:
    async def get_login(request: Request) -> Response:
        return api_json(await admin.get_login(_challenge(request, "login")))

    async def accept_login(request: Request) -> Response:
        challenge = _challenge(request, "login")
        return api_json(await admin.accept_login(challenge, await _body(request, login_failure)))

    async def reject_login(request: Request) -> Response:
        challenge = _challenge(request, "login")
        return api_json(await admin.reject_login(challenge, await _body(request, login_failure)))

    async def get_consent(request: Request) -> Response:
        return api_json(await admin.get_consent(_challenge(request, "consent")))

    async def accept_consent(request: Request) -> Response:
        challenge = _challenge(request, "consent")
        return api_json(await admin.accept_consent(challenge, await _body(request, consent_failure)))

    async def reject_consent(request: Request) -> Response:
        challenge = _challenge(request, "consent")
        return api_json(await admin.reject_consent(challenge, await _body(request, consent_failure)))

    async def list_consent(request: Request) -> Response:
        q = request.query_params
        subject = q.get("subject", "")
        if not subject:
            raise InvalidRequest("Query parameter 'subject' is not defined but should have been.")
        try:
            size = min(max(int(q.get("page_size") or 100), 1), 500)
            offset = min(max(int(q.get("page_token") or 0), 0), 1 << 31)  # past any real list; fits the SQL
        except ValueError as exc:  # hydralite's page tokens are offsets, Hydra's are sealed keyset tokens
            raise InvalidRequest("Unable to parse pagination parameters: page_size and page_token must be integers."
                                 ) from exc
        items = await admin.list_consent_sessions(subject, q.get("login_session_id") or None, size + 1, offset)
        base = str(request.url.replace(query=""))
        link = f'<{base}?{urlencode({"subject": subject, "page_size": size, "page_token": 0})}>; rel="first"'
        if len(items) > size:
            following = urlencode({"subject": subject, "page_size": size, "page_token": offset + size})
            link += f',<{base}?{following}>; rel="next"'
        return api_json(items[:size], headers={"Link": link})

    async def revoke_consent(request: Request) -> Response:
        q = request.query_params
        subject, client, everything = q.get("subject", ""), q.get("client", ""), q.get("all", "") == "true"
        challenge = q.get("consent_request_id", "")
        if challenge and not subject and not client:  # `all` is ignored here, as by Hydra
            await admin.revoke_consent_request(challenge)
        elif not challenge and subject and client and not everything:
            await admin.revoke_consent(subject, client)
        elif not challenge and subject and not client and everything:
            await admin.revoke_consent(subject, None)
        else:
            raise InvalidRequest("Invalid combination of query parameters.")
        return Response(status_code=204)

    async def revoke_login(request: Request) -> Response:
        q = request.query_params
        if q.get("sid"):
            await admin.revoke_login_session(q["sid"])
        elif q.get("subject"):
            await admin.revoke_login_sessions(q["subject"])
        else:
            raise InvalidRequest("Either 'subject' or 'sid' query parameters need to be defined.")
        return Response(status_code=204)

    logout = Logout(admin.engine)

    def logout_request(request: Request) -> dict[str, Any]:
        """The open logout request; Hydra does not ask for the challenge first, an empty one fails to decrypt."""
        challenge = _query_challenge(request, "logout")
        data = logout.request(challenge)
        if data is None:
            if challenge and logout.challenges.open(challenge) is not None:  # genuine, but past its lifespan
                raise RequestUnauthorized("The logout request has expired, please try the flow again.")
            raise ResourceNotFound("Failed to decrypt the logout challenge.")
        return data

    async def get_logout(request: Request) -> Response:
        data = logout_request(request)
        client_id = data.pop("client_id")
        data["client"] = await admin._client(client_id) if client_id else None
        return api_json(data)

    async def accept_logout(request: Request) -> Response:
        logout_request(request)
        redirect_to = logout.accept(_query_challenge(request, "logout"))
        if redirect_to is None:  # expired between the two looks
            raise RequestUnauthorized("The logout request has expired, please try the flow again.")
        return api_json({"redirect_to": redirect_to})

    async def reject_logout(request: Request) -> Response:
        logout_request(request)
        return Response(status_code=204)

    base = "/admin/oauth2/auth"
    return [
        Route(f"{base}/requests/login", get_login, methods=["GET"]),
        Route(f"{base}/requests/login/accept", accept_login, methods=["PUT"]),
        Route(f"{base}/requests/login/reject", reject_login, methods=["PUT"]),
        Route(f"{base}/requests/consent", get_consent, methods=["GET"]),
        Route(f"{base}/requests/consent/accept", accept_consent, methods=["PUT"]),
        Route(f"{base}/requests/consent/reject", reject_consent, methods=["PUT"]),
        Route(f"{base}/requests/logout", get_logout, methods=["GET"]),
        Route(f"{base}/requests/logout/accept", accept_logout, methods=["PUT"]),
        Route(f"{base}/requests/logout/reject", reject_logout, methods=["PUT"]),
        Route(f"{base}/sessions/consent", list_consent, methods=["GET"]),
        Route(f"{base}/sessions/consent", revoke_consent, methods=["DELETE"]),
        Route(f"{base}/sessions/login", revoke_login, methods=["DELETE"]),
    ]

