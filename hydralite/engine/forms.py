"""Reading request parameters: one value per name, except the few RFC 6749 lets repeat."""

from __future__ import annotations

from hydralite.errors import InvalidRequest

Form = dict[str, list[str]]

#: Only these may legitimately appear more than once (RFC 8707 and Hydra's audience).
REPEATABLE = frozenset({"audience", "resource"})


def single(form: Form, name: str) -> str:
    """The value of `name`, "" when absent; a repeated parameter is invalid_request (RFC 6749 §3.1, §3.2)."""
    values = form.get(name)
    if not values:
        return ""
    if len(values) > 1:
        raise InvalidRequest(f"The parameter '{name}' must not be included more than once.")
    return values[0]


def reject_repeats(form: Form) -> None:
    for name, values in form.items():
        if len(values) > 1 and name not in REPEATABLE:
            raise InvalidRequest(f"The parameter '{name}' must not be included more than once.")
