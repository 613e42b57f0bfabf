"""OpenID Connect Back-Channel Logout 1.0: tell every client of an ended login session, off the request path.

`notify` returns at once: the logout tokens are signed and POSTed (form field `logout_token`) from a background
task, to all clients in parallel, each call bounded by a timeout and retried once after a short pause, all
through engine.outbound (address policy, size limit). A slow, failing or hanging receiver therefore never holds
up the logout response; failures are logged, as Hydra logs them. Tasks are kept in a set until they finish so
they are not garbage-collected mid-flight; `drain` lets a shutting-down server wait for them briefly.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

from hydralite.engine import pairwise
from hydralite.engine.core import Engine
from hydralite.engine.outbound import OutboundError
from hydralite.models import Client

log = logging.getLogger("hydralite.logout")

ID_TOKEN_SET = "hydra.openid.id-token"
EVENT = "http://schemas.openid.net/event/backchannel-logout"
TIMEOUT = 30.0  # per attempt, as Hydra's
RETRY_DELAY = 1.0
ATTEMPTS = 2  # hydralite: one retry after a failure (Hydra tries once)
LIFETIME = 120  # seconds of `exp` (the spec recommends about two minutes)

_tasks: set[asyncio.Task[None]] = set()


def claims(engine: Engine, client: Client, sid: str, subject: str) -> dict[str, Any]:
    """The Logout Token (§2.4): Hydra's iss, aud, iat, jti, events and sid; never a nonce.

    hydralite also puts `exp` (REQUIRED since the final 1.0 spec; Hydra omits it) and `sub` as this client
    sees it (pairwise or not; the spec allows it beside sid, Hydra omits it), so RPs keyed by either work.
    """
    issued = int(time.time())
    out: dict[str, Any] = {"iss": engine.config.issuer, "aud": [client.id], "iat": issued, "exp": issued + LIFETIME,
                           "jti": str(uuid.uuid4()), "events": {EVENT: {}}, "sid": sid}
    sub = pairwise.subject_or_none(engine.config, client, subject) if subject else None
    if sub:
        out["sub"] = sub
    return out


def notify(engine: Engine, clients: Sequence[Client], sid: str, subject: str) -> None:
    """Start the back-channel logout of `sid` for the clients that registered a backchannel_logout_uri."""
    targets = [c for c in clients if c.metadata.get("backchannel_logout_uri")]
    if not targets or not sid:
        return
    task = asyncio.get_running_loop().create_task(_run(engine, targets, sid, subject))
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


async def _run(engine: Engine, clients: list[Client], sid: str, subject: str) -> None:
    await asyncio.gather(*(_deliver(engine, c, sid, subject) for c in clients), return_exceptions=True)


async def _deliver(engine: Engine, client: Client, sid: str, subject: str) -> None:
    """Sign one token and POST it; the retry re-sends the same token (same jti), as a redelivery should."""
    url = str(client.metadata["backchannel_logout_uri"])
    try:
        token = await engine.keys.sign(ID_TOKEN_SET, claims(engine, client, sid, subject))
    except Exception:  # a broken key set must not surface anywhere but the log
        log.exception("Unable to sign the OpenID Connect Back-Channel Logout token (client_id=%s)", client.id)
        return
    for attempt in range(1, ATTEMPTS + 1):
        try:
            response = await engine.outbound.post_form(url, {"logout_token": token}, timeout=TIMEOUT)
            if response.status_code in (200, 204):
                log.info("Back-Channel Logout Request (client_id=%s, backchannel_logout_url=%s)", client.id, url)
                return
            reason = f"expected HTTP status code 200 or 204 but got {response.status_code}"
        except OutboundError as exc:
            reason = str(exc)
        log.warning("Unable to execute OpenID Connect Back-Channel Logout Request (client_id=%s, "
                    "backchannel_logout_url=%s, attempt %d of %d): %s", client.id, url, attempt, ATTEMPTS, reason)
        if attempt < ATTEMPTS:
            await asyncio.sleep(RETRY_DELAY)


def pending() -> int:
    """Back-channel deliveries still running in this process."""
    return len(_tasks)


async def drain(timeout: float = 5.0) -> None:
    """Give running deliveries up to `timeout` seconds to finish (for a graceful shutdown)."""
    if _tasks:
        await asyncio.wait(list(_tasks), timeout=timeout)
