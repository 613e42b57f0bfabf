"""RFC 6750 §3 refusals: the status, the `WWW-Authenticate: Bearer …` challenge and a small JSON body."""

from __future__ import annotations

import json

#: RFC 6750 §3: error_description and scope values are limited to %x20-21 / %x23-5B / %x5D-7E.
_UNQUOTABLE = str.maketrans({'"': "'", "\\": "/"})


def _quoted(value: str) -> str:
    return '"' + "".join(c for c in value.translate(_UNQUOTABLE) if 0x20 <= ord(c) <= 0x7E) + '"'


class Denied(Exception):
    """The request may not pass: 400 invalid_request, 401 (invalid_token or no error at all), 403 insufficient_scope."""

    def __init__(self, status: int, error: str | None = None, description: str = "", *, scope: str = "",
                 realm: str | None = None):
        super().__init__(description or error or "missing bearer token")
        self.status = status
        self.error = error
        self.description = description
        self.scope = scope
        self.realm = realm

    def challenge(self) -> str:
        """The WWW-Authenticate value; without an error code when the request had no credentials (§3.1)."""
        params = []
        if self.realm is not None:
            params.append(f"realm={_quoted(self.realm)}")
        if self.error:
            params.append(f"error={_quoted(self.error)}")
            if self.description:
                params.append(f"error_description={_quoted(self.description)}")
            if self.scope:
                params.append(f"scope={_quoted(self.scope)}")
        return "Bearer" + (" " + ", ".join(params) if params else "")

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": self.challenge(), "Cache-Control": "no-store"}

    def body(self) -> bytes:
        """A JSON echo of the challenge; empty when the request had no credentials (RFC 6750 §3.1)."""
        if not self.error:
            return b""
        return json.dumps({"error": self.error, "error_description": self.description}).encode()


def missing(realm: str | None) -> Denied:
    return Denied(401, realm=realm)


def invalid_request(description: str, realm: str | None) -> Denied:
    return Denied(400, "invalid_request", description, realm=realm)


def invalid_token(description: str, realm: str | None) -> Denied:
    return Denied(401, "invalid_token", description, realm=realm)


def insufficient_scope(required: str, realm: str | None) -> Denied:
    return Denied(403, "insufficient_scope", "The access token does not grant the scopes this resource requires.",
                  scope=required, realm=realm)
