"""One module per grant_type; each exposes a Grant with `grant_type`, `parameters` and `exchange`."""

from __future__ import annotations

from typing import Protocol

from hydralite.engine.core import Engine
from hydralite.engine.forms import Form
from hydralite.models import Client, TokenResponse


class Grant(Protocol):
    grant_type: str
    parameters: frozenset[str]

    async def exchange(self, engine: Engine, client: Client, form: Form) -> TokenResponse: ...
