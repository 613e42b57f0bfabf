"""hydralite's testing kit: a pytest plugin (entry point `pytest11`) that serves hydralite for a test session.

The plugin module imports only pytest and the standard library; everything here is imported when a test
first uses a fixture. Import `HydraliteServer`, `Hydralite` or `AsyncHydralite` from here for type hints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hydralite.testing.client import AsyncHydralite, Hydralite, HydraliteError
    from hydralite.testing.server import HydraliteServer, ServerOptions

__all__ = ["AsyncHydralite", "Hydralite", "HydraliteError", "HydraliteServer", "ServerOptions"]

_HOMES = {"AsyncHydralite": "client", "Hydralite": "client", "HydraliteError": "client",
          "HydraliteServer": "server", "ServerOptions": "server"}


def __getattr__(name: str) -> Any:
    """Import lazily, so that loading the plugin costs nothing."""
    if name not in _HOMES:
        raise AttributeError(name)
    import importlib

    return getattr(importlib.import_module(f"hydralite.testing.{_HOMES[name]}"), name)
