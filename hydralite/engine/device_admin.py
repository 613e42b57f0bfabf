"""The admin side of the device flow: what a device page calls with the user code (Hydra's acceptUserCodeRequest).

Guessing is bounded (Hydra does not bound it): a device challenge takes CHALLENGE_GUESSES wrong user codes, then it
is locked; the browsers of one IP address together get `HYDRALITE_DEVICE_USER_CODE_GUESSES` wrong codes a minute,
after which every try from them answers 429 until the minute is over. A user code is spent by the first challenge
that names it, so it is never valid twice.
"""

from __future__ import annotations

import secrets as _secrets
from datetime import timedelta
from typing import Any

from hydralite.engine.core import Engine, now
from hydralite.engine.device import CHALLENGE_GUESSES, set_query, user_code_signature
from hydralite.errors import APIError, InvalidRequest, RequestUnauthorized, ResourceNotFound

_WRONG = "The 'user_code' session could not be found or has expired or is otherwise malformed."


def _gone(row: Any) -> APIError:
    return APIError(410, "Gone", "The request has already been handled.", body={"redirect_to": row["request_url"]})


def _locked() -> APIError:
    return APIError(429, "Too Many Requests", "Too many wrong user codes were entered for this device request: "
                    "start again from the verification page.")


def _limited() -> APIError:
    return APIError(429, "Too Many Requests", "Too many wrong user codes were entered from this network: wait a "
                    "minute and try again.", headers={"Retry-After": "60"})


def user_code_of(body: Any) -> str:
    """The `user_code` of an AcceptDeviceUserCodeRequest body, checked as Hydra's handler decodes it."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise InvalidRequest("Unable to decode request body: json: cannot unmarshal into Go value of type "
                             "flow.AcceptDeviceUserCodeRequest")
    code = body.get("user_code")
    if code is not None and not isinstance(code, str):
        raise InvalidRequest("Unable to decode request body: json: cannot unmarshal into Go struct field "
                             "AcceptDeviceUserCodeRequest.user_code of type string")
    if not code:
        raise InvalidRequest("Field 'user_code' must not be empty.")
    return code


class DeviceAdmin:
    def __init__(self, engine: Engine):
        self.engine = engine

    async def _challenge(self, challenge: str) -> Any:
        if not challenge:
            raise InvalidRequest("Query parameter 'device_challenge' is not defined but should have been.")
        row = await self.engine.repo.get_device_challenge(challenge) if len(challenge) <= 64 else None
        if row is None:
            raise ResourceNotFound()
        if row["status"] == "locked":
            raise _locked()
        if row["status"] != "pending":
            raise _gone(row)
        if row["requested_at"] + timedelta(seconds=self.engine.config.ttl_login_consent_request) < now():
            raise RequestUnauthorized("The device request has expired, please try again.")
        return row

    async def get(self, challenge: str) -> dict[str, Any]:
        """A DeviceUserAuthRequest (the 25.x SDK's model; Hydra v25 serves no such GET: a hydralite addition)."""
        row = await self._challenge(challenge)
        return {"challenge": row["id"], "request_url": row["request_url"],
                "requested_access_token_audience": [], "requested_scope": []}

    async def accept(self, challenge: str, body: Any) -> dict[str, str]:
        code = user_code_of(body)  # Hydra decodes the body before it looks at the challenge
        row = await self._challenge(challenge)
        verifier = _secrets.token_hex(16)
        outcome, client_id = await self.engine.repo.claim_user_code(
            row["id"], row["client_ip"], user_code_signature(self.engine, code[:256]), verifier, CHALLENGE_GUESSES,
            self.engine.config.device_user_code_guesses)
        if outcome == "limited":
            raise _limited()
        if outcome == "closed":  # another try changed the challenge meanwhile
            await self._challenge(challenge)
            raise _gone(row)
        if outcome == "wrong":
            raise InvalidRequest(_WRONG)
        return {"redirect_to": set_query(row["request_url"], device_verifier=verifier, client_id=client_id)}
