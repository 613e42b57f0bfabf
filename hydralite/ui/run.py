"""`hydralite serve ui`: the example app alone, configured from the environment, stopped by SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Mapping

from hydralite.config import ConfigError
from hydralite.ui.app import serve_ui


def settings(env: Mapping[str, str]) -> tuple[str, int, str]:
    """(host, port, admin URL) from SERVE_UI_HOST, HYDRALITE_UI_PORT and HYDRALITE_ADMIN_URL."""
    host = env.get("SERVE_UI_HOST", "").strip() or "127.0.0.1"
    raw = env.get("HYDRALITE_UI_PORT", "").strip() or "3000"
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise ConfigError(f"invalid configuration:\n  - HYDRALITE_UI_PORT: {raw!r} is not a port number")
    admin = env.get("HYDRALITE_ADMIN_URL", "").strip() or "http://127.0.0.1:4445"
    if not admin.startswith(("http://", "https://")):
        raise ConfigError(f"invalid configuration:\n  - HYDRALITE_ADMIN_URL: {admin!r} is not an http(s) URL")
    return host, int(raw), admin


def run(env: Mapping[str, str]) -> None:
    host, port, admin = settings(env)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await serve_ui(host, port, admin, stop.wait)

    asyncio.run(main())
