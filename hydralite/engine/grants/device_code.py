"""RFC 8628 §3.4–3.5 device access token request: pending, slow_down, denied, expired, then tokens once."""

from __future__ import annotations

from hydralite.crypto.tokens import DEVICE
from hydralite.engine import token_hook
from hydralite.engine.core import Engine, now
from hydralite.engine.device import DEVICE_GRANT, AuthorizationPending, ExpiredToken, SlowDown
from hydralite.engine.forms import Form, single
from hydralite.engine.grants.issuing import mint, response
from hydralite.errors import AccessDenied, InvalidGrant, InvalidRequest
from hydralite.models import Client, TokenResponse

#: Polls this much sooner than the interval still count as on time (network jitter between two polls).
_JITTER = 0.2


class DeviceCode:
    grant_type = DEVICE_GRANT
    parameters = frozenset({"device_code"})

    async def exchange(self, engine: Engine, client: Client, form: Form) -> TokenResponse:
        code = single(form, "device_code")
        if not code:
            raise InvalidRequest("The parameter 'device_code' is missing.")
        # HMAC first: a forged or foreign device code never reaches the database.
        signature = engine.codec.signature(code, DEVICE) or ""
        row = await engine.repo.get_device_code(signature) if signature else None
        if row is None:
            raise InvalidGrant("The device code is malformed or not valid.")
        # RFC 8628 §3.4 with RFC 6749 §4.1.3: the code must have been issued to the authenticated client. Checked
        # before the state (fosite answers authorization_pending first), so another client learns nothing.
        if row["client_id"] != client.id:
            raise InvalidGrant("The OAuth 2.0 Client ID from this request does not match the one from the device "
                               "authorization request.")
        status = row["status"]
        if status == "used":
            # As fosite: a spent device code revokes the tokens issued from it.
            await engine.repo.revoke_request(row["request_id"])
            raise InvalidGrant("The device code has already been used.")
        if status == "denied":
            raise AccessDenied()
        if row["expires_at"] <= now():
            raise ExpiredToken()
        if status == "pending":
            await self._poll(engine, signature)
        data = engine.open(row["session"])
        data = await token_hook.apply(engine, client, form, row["subject"], list(row["granted_scope"]),
                                      list(row["granted_audience"]), data)
        minted = await mint(engine, client, "device_authorization", row["subject"], list(row["granted_scope"]),
                            list(row["granted_audience"]), row["request_id"], data)
        # Sign first: nothing is written unless the whole response can be sent.
        result = await response(engine, client, "device_authorization", minted, data)
        if not await engine.repo.exchange_device_code(signature, minted.access, minted.refresh):
            # A concurrent poll spent the device code first: exactly one of them gets tokens.
            raise InvalidGrant("The device code has already been used.")
        return result

    @staticmethod
    async def _poll(engine: Engine, signature: str) -> None:
        """A pending device code: authorization_pending, or slow_down (RFC 8628 §3.5) when the previous poll was
        less than the interval ago. Hydra announces the interval but does not enforce it."""
        polled = await engine.repo.poll_device_code(signature)
        interval = engine.config.device_polling_interval
        if polled is not None and polled["previous"] is not None and \
                (polled["polled_at"] - polled["previous"]).total_seconds() < interval * (1 - _JITTER):
            raise SlowDown("Ensure that you don't call the token endpoint sooner than the polling interval.")
        raise AuthorizationPending()
