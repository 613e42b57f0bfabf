"""Put on PYTHONPATH of a server under test: OpenTelemetry then looks uninstalled (ModuleNotFoundError), and
every attempt to import it is appended to $HYDRALITE_TEST_OTEL_LOG, so a test can also prove none was made."""

from __future__ import annotations

import os
import sys
from importlib.abc import MetaPathFinder
from importlib.machinery import ModuleSpec
from typing import Any


class _BlockOpenTelemetry(MetaPathFinder):
    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if fullname != "opentelemetry" and not fullname.startswith("opentelemetry."):
            return None
        log = os.environ.get("HYDRALITE_TEST_OTEL_LOG")
        if log:
            with open(log, "a") as fh:
                fh.write(fullname + "\n")
        raise ModuleNotFoundError(f"No module named {fullname!r}", name=fullname)


sys.meta_path.insert(0, _BlockOpenTelemetry())
