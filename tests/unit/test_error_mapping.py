"""SECURITY.md §3: how each asyncpg failure reaches the client (pinned)."""

from __future__ import annotations

import asyncpg
import pytest

from hydralite import errors
from hydralite.db.repository import translate

E = asyncpg.exceptions

UNAVAILABLE = [
    E.ConnectionDoesNotExistError("gone"), E.InterfaceError("connection is closed"), OSError("refused"),
    ConnectionRefusedError(111, "refused"), E.AdminShutdownError("57P01"), E.CrashShutdownError("57P02"),
    E.CannotConnectNowError("57P03"), E.TooManyConnectionsError("53300"),
    TimeoutError(), E.QueryCanceledError("57014"), E.ConnectionFailureError("08006"),
]
REJECTED = [E.CharacterNotInRepertoireError("22021"), E.ProgramLimitExceededError("54000"),
            E.StringDataRightTruncationError("22001"),
            asyncpg.DataError("invalid input for query argument $1")]  # a value asyncpg cannot encode


@pytest.mark.parametrize("exc", UNAVAILABLE, ids=lambda e: type(e).__name__)
def test_unavailable_is_503_temporarily_unavailable_with_retry_after(exc):
    mapped = translate(exc)
    assert isinstance(mapped, errors.StorageUnavailable)
    assert mapped.status_code == 503
    assert mapped.error == "temporarily_unavailable"
    assert mapped.headers.get("Retry-After")
    assert set(mapped.to_dict()) == {"error", "error_description"}
    assert type(exc).__name__ not in mapped.to_dict()["error_description"]  # debug only when exposed


def test_unique_violation_is_409_on_the_admin_api():
    mapped = translate(E.UniqueViolationError("23505"))
    assert isinstance(mapped, errors.APIError) and mapped.status_code == 409
    assert mapped.to_dict() == {
        "error": "Unable to insert or update resource because a resource with that value exists already",
        "error_description": ""}


@pytest.mark.parametrize("exc", REJECTED, ids=lambda e: type(e).__name__)
def test_rejected_values_are_400(exc):
    mapped = translate(exc)
    assert isinstance(mapped, errors.StorageRejected)
    assert mapped.status_code == 400 and mapped.error == "invalid_request"


@pytest.mark.parametrize("exc", [E.SerializationError("40001"), E.DeadlockDetectedError("40P01")],
                         ids=lambda e: type(e).__name__)
def test_serialization_failures_are_left_to_the_caller(exc):
    # 40001/40P01 are retried by the transaction's owner (or become invalid_grant), never a blanket 503 or 400.
    assert translate(exc) is None


@pytest.mark.parametrize("exc", [E.UndefinedTableError("42P01"), E.SyntaxOrAccessError("42000"),
                                 ValueError("x"), KeyError("k")], ids=lambda e: type(e).__name__)
def test_bugs_are_not_disguised(exc):
    assert translate(exc) is None
