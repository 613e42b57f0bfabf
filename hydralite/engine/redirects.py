"""Redirect URI matching: byte-exact, except the port of a loopback IP (RFC 8252 §7.3)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from hydralite.engine.clients import is_loopback


def _loopback_equal(requested: str, registered: str) -> bool:
    try:
        r, g = urlsplit(requested), urlsplit(registered)
        if r.port is None and ":" in r.netloc.rsplit("]", 1)[-1]:
            return False
        r.port, g.port  # noqa: B018 - raises ValueError on malformed ports
    except ValueError:
        return False
    if r.scheme != "http" or g.scheme != "http":
        return False
    if not is_loopback(r.hostname) or r.hostname != g.hostname or r.username or r.password:
        return False
    return (r.path, r.query, r.fragment) == (g.path, g.query, g.fragment) and g.username is None


def match(requested: str, registered: Sequence[str]) -> bool:
    """True when `requested` is one of the registered URIs (CVE-2020-15233/15234 regressions in the tests)."""
    if not requested or "#" in requested:
        return False
    return any(requested == uri or _loopback_equal(requested, uri) for uri in registered)


def is_secure(uri: str, dev: bool) -> bool:
    """Hydra rejects http redirect URIs except for localhost and loopback, unless --dev."""
    if dev:
        return True
    parts = urlsplit(uri)
    if parts.scheme != "http":
        return True
    host = parts.hostname or ""
    return host == "localhost" or host.endswith(".localhost") or is_loopback(host)
