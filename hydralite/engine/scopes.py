"""Scope parsing and matching: fosite's wildcard strategy (Hydra's default) and the exact one."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from hydralite.errors import InvalidScope

# RFC 6749 §3.3: scope-token = 1*NQCHAR, NQCHAR = %x21 / %x23-5B / %x5D-7E
_NQCHARS = re.compile(r"^[\x21\x23-\x5B\x5D-\x7E]+\Z")


def parse(text: str | None) -> list[str]:
    """Split a space-delimited scope string, dropping duplicates but keeping order; reject bad characters."""
    if not text:
        return []
    seen: dict[str, None] = {}
    for part in text.split(" "):
        if not part:
            continue
        if not _NQCHARS.match(part):
            raise InvalidScope("The requested scope contains characters that are not allowed.")
        seen[part] = None
    return list(seen)


def wildcard_match(matchers: Iterable[str], needle: str) -> bool:
    """fosite.WildcardScopeStrategy: `foo.*` grants `foo.bar` and `foo.bar.baz`; a `*` part matches any part."""
    needle_parts = needle.split(".")
    for matcher in matchers:
        parts = matcher.split(".")
        if len(parts) > len(needle_parts):
            continue
        matched = True
        for k, part in enumerate(parts):
            if k == len(parts) - 1 and len(parts) != len(needle_parts) and part != "*":
                matched = False
                break
            if part == "*" and needle_parts[k]:
                continue
            if part != needle_parts[k]:
                matched = False
                break
        if matched:
            return True
    return False


def exact_match(matchers: Iterable[str], needle: str) -> bool:
    return needle in matchers


class ScopeStrategy:
    def __init__(self, name: str = "wildcard"):
        self.match = wildcard_match if name == "wildcard" else exact_match

    def check_allowed(self, allowed: Sequence[str], requested: Sequence[str]) -> None:
        for scope in requested:
            if not self.match(allowed, scope):
                raise InvalidScope(f"The OAuth 2.0 Client is not allowed to request scope '{scope}'.")

    def all_granted(self, granted: Sequence[str], requested: Sequence[str]) -> bool:
        return all(self.match(granted, scope) for scope in requested)
