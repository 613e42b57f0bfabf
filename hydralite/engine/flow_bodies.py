"""The JSON bodies of the login/consent admin API, decoded and checked as Hydra's handlers decode them.

Hydra's login handlers turn a body that does not decode into fosite's invalid_request ("Unable to decode body
because: …"). Its consent handlers write the bare Go decoding error, which its error enhancer renders as
400 `{"error": "error", "error_description": "The error is unrecognizable"}`. Checks Hydra does not make
(values hydralite cannot store, or that make no sense) answer invalid_request, as Hydra's other body checks do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hydralite.errors import InvalidRequest, unrecognizable

Failure = Callable[[str], Exception]
_MAX_INT32 = 2**31 - 1
_GO_KINDS: dict[type, str] = {bool: "bool", int: "number", float: "number", str: "string", list: "array",
                              dict: "object"}


def login_failure(detail: str) -> Exception:
    return InvalidRequest(f"Unable to decode body because: {detail}")


def consent_failure(detail: str) -> Exception:
    return unrecognizable(400)


def _kind(value: Any) -> str:
    if isinstance(value, float):
        return f"number {value!r}"
    return _GO_KINDS.get(type(value), "value")


class _Body:
    """One decoded body; each accessor fails as Go's decoder would on a value of the wrong type."""

    def __init__(self, body: Any, struct: str, fail: Failure):
        if body is None:
            body = {}  # JSON null decodes into the zero value of the struct
        if not isinstance(body, dict):
            raise fail(f"json: cannot unmarshal {_kind(body)} into Go value of type flow.{struct}")
        self.data, self.struct, self.fail = body, struct, fail

    def mismatch(self, key: str, value: Any, want: str) -> Exception:
        return self.fail(f"json: cannot unmarshal {_kind(value)} into Go struct field {self.struct}.{key} of type "
                         f"{want}")

    def string(self, key: str) -> str:
        value = self.data.get(key)
        if value is not None and not isinstance(value, str):
            raise self.mismatch(key, value, "string")
        return value or ""

    def boolean(self, key: str) -> bool:
        value = self.data.get(key)
        if value is not None and not isinstance(value, bool):
            raise self.mismatch(key, value, "bool")
        return bool(value)

    def integer(self, key: str) -> int:
        value = self.data.get(key)
        if value is None:
            return 0
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.mismatch(key, value, "int")
        if not 0 <= value <= _MAX_INT32:  # hydralite stores a 32-bit count of seconds; Hydra takes any int
            raise InvalidRequest(f"Field '{key}' must be an integer between 0 and {_MAX_INT32}.")
        return value

    def strings(self, key: str) -> list[str]:
        value = self.data.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.mismatch(key, value, "[]string")
        for item in value:
            if not isinstance(item, str):
                raise self.mismatch(key, item, "string")
        return value

    def mapping(self, key: str, struct: str | None = None) -> dict[str, Any]:
        value = self.data.get(key)
        if value is not None and not isinstance(value, dict):
            raise self.mismatch(key, value, struct or "map[string]interface {}")
        return value or {}


def accepted_login(body: Any) -> dict[str, Any]:
    """A `HandledLoginRequest`, as stored with the flow; the subject must not be empty."""
    b = _Body(body, "HandledLoginRequest", login_failure)
    forced = b.string("force_subject_identifier")
    b.string("identity_provider_session_id")
    stored = {"subject": b.string("subject"), "remember": b.boolean("remember"),
              "remember_for": b.integer("remember_for"), "acr": b.string("acr"), "amr": b.strings("amr"),
              "context": b.data.get("context") or {},
              "extend_session_lifespan": b.boolean("extend_session_lifespan")}
    if forced:  # kept only when set, as Hydra's flow keeps it (`fs,omitempty`); read by flows.seen_subject
        stored["force_subject_identifier"] = forced
    if not stored["subject"]:
        raise InvalidRequest("Field 'subject' must not be empty.")
    return stored


def accepted_consent(body: Any) -> dict[str, Any]:
    """An `AcceptOAuth2ConsentRequest`: grants, remember flags, context and the token session claims."""
    b = _Body(body, "AcceptOAuth2ConsentRequest", consent_failure)
    session = _Body(b.mapping("session", "flow.AcceptOAuth2ConsentRequestSession"),
                    "AcceptOAuth2ConsentRequestSession", consent_failure)
    return {"grant_scope": b.strings("grant_scope"),
            "grant_access_token_audience": b.strings("grant_access_token_audience"),
            "remember": b.boolean("remember"), "remember_for": b.integer("remember_for"),
            "context": b.data.get("context") or {},
            "session": {"access_token": session.mapping("access_token"), "id_token": session.mapping("id_token")}}


def rejection(body: Any, fail: Failure) -> dict[str, Any]:
    """A `RequestDeniedError`, with hydralite's defaults; a status outside 400–599 is refused."""
    b = _Body(body, "RequestDeniedError", fail)
    out: dict[str, Any] = {key: b.string(key) for key in ("error", "error_description", "error_hint",
                                                          "error_debug")}
    out["error"] = out["error"] or "request_denied"
    status = b.data.get("status_code")
    if status is not None and (not isinstance(status, int) or isinstance(status, bool)):
        raise b.mismatch("status_code", status, "int")
    status = status or 400
    if not 400 <= status <= 599:  # Hydra would redirect with any status; hydralite keeps it an error status
        raise InvalidRequest("Field 'status_code' must be an HTTP error status (400 to 599).")
    out["status_code"] = status
    return out
