"""Audience parsing (fosite GetAudiences) and the default matching strategy, case for case."""

from __future__ import annotations

import pytest

from hydralite.engine.audience import check_allowed, parse
from hydralite.errors import InvalidRequest

U = "https://cloud.ory.sh/api/users"
CASES = [  # (haystack, needles, allowed) from fosite's TestDefaultAudienceMatchingStrategy
    ([], [], True), (["http://foo/bar"], [], True), ([], ["http://foo/bar"], False),
    ([U], [U], True), ([U], [U + "/"], True), ([U + "/"], [U + "/"], True), ([U + "/"], [U], True),
    ([U], [U + "/1234"], True), ([U], [U, U + "/", U + "/1234"], True),
    ([U, "https://cloud.ory.sh/api/tenants"], [U, U + "/", U + "/1234", "https://cloud.ory.sh/api/tenants"], True),
    ([U], [U + "1234"], False), ([U], ["http://cloud.ory.sh/api/users"], False),
    ([U], ["https://cloud.ory.sh:8000/api/users"], False), ([U], ["https://cloud.ory.xyz/api/users"], False),
    (["foobar"], ["foobar"], True), (["foo bar"], ["foo bar"], True), (["zoo", "bar"], ["zoo"], True),
    (["zoo"], ["zoo", "bar"], False), (["foobar"], ["foobar/"], True), (["foobar/"], ["foobar"], True),
    # label boundaries: a longer host or a lookalike is another audience
    (["https://api.example.com"], ["https://api.example.com.evil.net"], False),
    (["https://api.example.com/a"], ["https://api.example.com/ab"], False),
    (["https://api.example.com/a"], ["https://api.example.com/a/b/c"], True),
]


@pytest.mark.parametrize(("haystack", "needles", "allowed"), CASES)
def test_fosite_default_audience_strategy(haystack, needles, allowed):
    if allowed:
        check_allowed(haystack, needles)
    else:
        with pytest.raises(InvalidRequest) as info:
            check_allowed(haystack, needles)
        assert "has not been whitelisted by the OAuth 2.0 Client" in info.value.to_dict()["error_description"]


def test_unparsable_audience_is_invalid_request_not_a_crash():
    with pytest.raises(InvalidRequest):
        check_allowed(["https://a"], ["http://[::1"])


def test_parse_single_value_is_space_delimited():
    assert parse(["https://a https://b  https://a"]) == ["https://a", "https://b"]
    assert parse([]) == []
    assert parse([""]) == []


def test_parse_repeated_values_are_kept_whole():
    # fosite GetAudiences: when `audience` repeats (RFC 8693 style) the values are not split on spaces.
    assert parse(["https://a", "https://b"]) == ["https://a", "https://b"]
    assert parse(["foo bar", "baz"]) == ["foo bar", "baz"]
