"""Admin routes of the device flow: read a device challenge and bind a user code to it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from hydralite.engine.device_admin import DeviceAdmin
from hydralite.errors import APIError, InvalidRequest
from hydralite.web.common import api_json, read_json


def routes(admin: DeviceAdmin) -> list[Route]:
    async def get_device(request: Request) -> Response:
        return api_json(await admin.get(request.query_params.get("device_challenge", "")))

    async def accept_device(request: Request) -> Response:
        challenge = request.query_params.get("device_challenge", "")
        if not challenge:  # Hydra checks the challenge before it reads the body
            raise InvalidRequest("Query parameter 'device_challenge' is not defined but should have been.")
        try:
            body = await read_json(request)
        except APIError as exc:
            if exc.status_code != 400:
                raise
            raise InvalidRequest(f"Unable to decode request body: {exc.description}") from exc
        return api_json(await admin.accept(challenge, body))

    base = "/admin/oauth2/auth/requests/device"
    return [
        Route(base, get_device, methods=["GET"]),
        Route(f"{base}/accept", accept_device, methods=["PUT"]),
    ]
