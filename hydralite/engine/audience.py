"""Audience parsing and fosite's default audience matching (same scheme and host, path at or below)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

from hydralite.errors import InvalidRequest


def parse(values: Sequence[str]) -> list[str]:
    """`audience` may repeat (values kept whole) or be one space-delimited value (fosite GetAudiences)."""
    parts = list(values) if len(values) > 1 else values[0].split(" ") if values else []
    seen: dict[str, None] = {}
    for part in parts:
        if part.strip():
            seen[part.strip()] = None
    return list(seen)


def _allowed(haystack: Sequence[str], needle: str) -> bool:
    try:
        n = urlsplit(needle)
    except ValueError as exc:
        raise InvalidRequest(f"Unable to parse requested audience '{needle}'.") from exc
    for item in haystack:
        try:
            h = urlsplit(item)
        except ValueError:
            continue
        allowed_path = h.path.rstrip("/")
        if n.scheme != h.scheme or n.netloc != h.netloc:
            continue
        if n.path in (h.path, allowed_path):
            return True
        if len(n.path) > len(allowed_path) and (
                n.path[:len(allowed_path) + 1].rstrip("/") + "/" == allowed_path + "/"):
            return True
    return False


def check_allowed(haystack: Sequence[str], requested: Sequence[str]) -> None:
    for needle in requested:
        if not _allowed(haystack, needle):
            raise InvalidRequest(f"Requested audience '{needle}' has not been whitelisted by the OAuth 2.0 Client.")
