"""Admin routes for login/consent requests and sessions (what a login/consent UI calls)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hydralite.engine.flow_admin import FlowAdmin
from hydralite.engine.logout import Logout
from hydralite.errors import APIError, bad_request
from hydralite.web.common import api_json, read_json


def _challenge(request: Request, kind: str) -> str:
    q = request.query_params
    value = q.get(f"{kind}_challenge") or q.get("challenge") or ""
    if not value:
        raise bad_request(f"Query parameter '{kind}_challenge' is not defined but should have been.")
    return value


def routes(admin: FlowAdmin) -> list[Route]:
    async def get_login(request: Request) -> Response:
        return api_json(await admin.get_login(_challenge(request, "login")))

    async def accept_login(request: Request) -> Response:
        return api_json(await admin.accept_login(_challenge(request, "login"), await read_json(request)))

    async def reject_login(request: Request) -> Response:
        return api_json(await admin.reject_login(_challenge(request, "login"), await read_json(request, empty={})))

    async def get_consent(request: Request) -> Response:
        return api_json(await admin.get_consent(_challenge(request, "consent")))

    async def accept_consent(request: Request) -> Response:
        return api_json(await admin.accept_consent(_challenge(request, "consent"), await read_json(request, empty={})))

    async def reject_consent(request: Request) -> Response:
        return api_json(await admin.reject_consent(_challenge(request, "consent"), await read_json(request, empty={})))

    async def list_consent(request: Request) -> Response:
        q = request.query_params
        subject = q.get("subject", "")
        if not subject:
            raise bad_request("Query parameter 'subject' is not defined but should have been.")
        try:
            size = min(max(int(q.get("page_size") or 100), 1), 500)
            offset = max(int(q.get("page_token") or 0), 0)
        except ValueError as exc:
            raise bad_request("Unable to parse pagination parameters.") from exc
        items = await admin.list_consent_sessions(subject, q.get("login_session_id") or None, size + 1, offset)
        base = str(request.url.replace(query=""))
        link = f'<{base}?subject={subject}&page_size={size}&page_token=0>; rel="first"'
        if len(items) > size:
            link += f',<{base}?subject={subject}&page_size={size}&page_token={offset + size}>; rel="next"'
        return api_json(items[:size], headers={"Link": link})

    async def revoke_consent(request: Request) -> Response:
        q = request.query_params
        subject, client, everything = q.get("subject", ""), q.get("client", ""), q.get("all", "") == "true"
        challenge = q.get("consent_request_id", "")
        if challenge and not subject and not client:
            await admin.revoke_consent_request(challenge)
        elif subject and (client or everything) and not (client and everything):
            await admin.revoke_consent(subject, client or None)
        else:
            raise APIError(400, "The request was malformed or contained invalid parameters",
                           "Invalid combination of query parameters.")
        return Response(status_code=204)

    async def revoke_login(request: Request) -> Response:
        q = request.query_params
        if q.get("sid"):
            await admin.revoke_login_session(q["sid"])
        elif q.get("subject"):
            await admin.revoke_login_sessions(q["subject"])
        else:
            raise bad_request("Either 'subject' or 'sid' query parameters need to be defined.")
        return Response(status_code=204)

    logout = Logout(admin.engine)

    async def get_logout(request: Request) -> Response:
        data = logout.request(_challenge(request, "logout"))
        if data is None:
            raise APIError(404, "Not Found", "Unable to locate the requested resource")
        client_id = data.pop("client_id")
        data["client"] = await admin._client(client_id) if client_id else None
        return api_json(data)

    async def accept_logout(request: Request) -> Response:
        redirect_to = logout.accept(_challenge(request, "logout"))
        if redirect_to is None:
            raise APIError(404, "Not Found", "Unable to locate the requested resource")
        return api_json({"redirect_to": redirect_to})

    async def reject_logout(request: Request) -> Response:
        if logout.request(_challenge(request, "logout")) is None:
            raise APIError(404, "Not Found", "Unable to locate the requested resource")
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

