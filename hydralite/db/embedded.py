"""The embedded PostgreSQL: real PostgreSQL binaries from the pgserver wheel.

DSN unset keeps data in a directory across restarts; DSN=memory uses a temporary
one that is removed at exit. The server listens on a Unix socket inside the data
directory, so it never collides with another PostgreSQL on the machine.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pgserver import PostgresServer

log = logging.getLogger("hydralite.db")
logging.getLogger("pgserver").setLevel(logging.WARNING)


class EmbeddedPostgres:
    def __init__(self, data_dir: str | None):
        self.temporary = data_dir is None
        self.root = Path(tempfile.mkdtemp(prefix="hydralite-pg-")) if data_dir is None else Path(data_dir)
        self._server: PostgresServer | None = None

    @property
    def pgdata(self) -> Path:
        return self.root / "pgdata"

    def start(self) -> str:
        """Start (or attach to) the server and return its DSN."""
        with warnings.catch_warnings():
            # pgserver asks platformdirs for a runtime dir at import; without XDG_RUNTIME_DIR (containers, CI)
            # that warns on every start and in every test run of the pytest plugin, though /tmp serves fine.
            warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR", category=UserWarning)
            import pgserver

        self.root.mkdir(parents=True, exist_ok=True)
        server = pgserver.get_server(self.pgdata, cleanup_mode="delete" if self.temporary else "stop")
        self._server = server
        uri = server.get_uri()
        log.info("embedded PostgreSQL running in %s", self.pgdata)
        return uri

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
        if self.temporary:
            shutil.rmtree(self.root, ignore_errors=True)
