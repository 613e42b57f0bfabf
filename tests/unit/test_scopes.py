"""Scope parsing (RFC 6749 §3.3 NQCHAR) and fosite's wildcard strategy, case for case."""

from __future__ import annotations

import pytest

from hydralite.engine.scopes import ScopeStrategy, exact_match, parse, wildcard_match
from hydralite.errors import InvalidScope

# (matchers, needle, expected) straight from fosite's TestWildcardScopeStrategy.
FOSITE_WILDCARD = [
    ([], "foo.bar.baz", False), ([], "foo.bar", False),
    (["*"], "", False), (["*"], "asdf", True), (["*"], "asdf.asdf", True),
    (["foo"], "*", False), (["foo"], "foo.*", False), (["foo"], "fo*", False), (["foo"], "foo", True),
    (["foo*"], "foo", False), (["foo*"], "fooa", False), (["foo*"], "fo", False), (["foo*"], "foo*", True),
    (["foo.*"], "foo.bar", True), (["foo.*"], "foo.baz", True), (["foo.*"], "foo.bar.baz", True),
    (["foo.*"], "foo", False),
    (["foo.*.baz"], "foo.*.baz", True), (["foo.*.baz"], "foo.bar.baz", True), (["foo.*.baz"], "foo..baz", False),
    (["foo.*.baz"], "foo.baz", False), (["foo.*.baz"], "foo", False), (["foo.*.baz"], "foo.bar.bar", False),
    (["foo.*.bar.*"], "foo.baz.bar.baz", True), (["foo.*.bar.*"], "foo.baz.baz.bar.baz", False),
    (["foo.*.bar.*"], "foo.baz.bar.bar.bar", True), (["foo.*.bar.*"], "foo.baz.bar", False),
    (["foo.*.bar.*"], "foo.*.bar.*.*.*", True), (["foo.*.bar.*"], "foo.1.bar.1.2.3.4.5", True),
    (["foo.*.bar"], "foo.bar.bar", True), (["foo.*.bar"], "foo.bar.bar.bar", False),
    (["foo.*.bar"], "foo..bar", False), (["foo.*.bar"], "foo.bar..bar", False),
    (["foo.*.bar.*.baz.*"], "foo.*.*", False), (["foo.*.bar.*.baz.*"], "foo.*.bar", False),
    (["foo.*.bar.*.baz.*"], "foo.baz.*", False), (["foo.*.bar.*.baz.*"], "foo.baz.bar", False),
    (["foo.*.bar.*.baz.*"], "foo.b*.bar", False), (["foo.*.bar.*.baz.*"], "foo.bar.bar.baz.baz.baz", True),
    (["foo.*.bar.*.baz.*"], "foo.bar.bar.baz.baz.baz.baz", True),
    (["foo.*.bar.*.baz.*"], "foo.bar.bar.baz.baz", False), (["foo.*.bar.*.baz.*"], "foo.bar.baz.baz.baz.bar", False),
    (["hydra.*", "openid", "offline", "hydra"], "hydra.clients", True),
    (["hydra.*", "openid", "offline", "hydra"], "hydra.clients.get", True),
    (["hydra.*", "openid", "offline", "hydra"], "hydra", True),
    (["hydra.*", "openid", "offline", "hydra"], "offline", True),
    (["hydra.*", "openid", "offline", "hydra"], "openid", True),
]


@pytest.mark.parametrize(("matchers", "needle", "expected"), FOSITE_WILDCARD)
def test_fosite_wildcard_cases(matchers, needle, expected):
    assert wildcard_match(matchers, needle) is expected


def test_exact_strategy():
    assert exact_match(["foo.*"], "foo.*")
    assert not exact_match(["foo.*"], "foo.bar")
    strategy = ScopeStrategy("exact")
    with pytest.raises(InvalidScope):
        strategy.check_allowed(["foo.*"], ["foo.bar"])


def test_check_allowed_names_the_scope():
    strategy = ScopeStrategy("wildcard")
    strategy.check_allowed(["api", "read.*"], ["api", "read.users"])
    with pytest.raises(InvalidScope) as info:
        strategy.check_allowed(["api"], ["api", "admin"])
    assert "'admin'" in info.value.to_dict()["error_description"]
    assert info.value.status_code == 400
    assert info.value.error == "invalid_scope"


def test_all_granted():
    strategy = ScopeStrategy()
    assert strategy.all_granted(["api", "read"], ["read"])
    assert strategy.all_granted(["api"], [])
    assert not strategy.all_granted(["api"], ["api", "write"])


def test_parse_splits_dedupes_and_keeps_order():
    assert parse(None) == []
    assert parse("") == []
    assert parse("b a  b c ") == ["b", "a", "c"]
    assert parse("a.b:c/d!#$%&'()*+,-./:;<=>?@[]^_`{|}~") == ["a.b:c/d!#$%&'()*+,-./:;<=>?@[]^_`{|}~"]


@pytest.mark.parametrize("bad", ['a"b', "a\\b", "a\x7fb", "a\tb", "a\x00b", "caf\u00e9", "a\nb", "\u202e"])
def test_parse_rejects_chars_outside_nqchar(bad):
    with pytest.raises(InvalidScope):
        parse(bad)


@pytest.mark.parametrize("text", ["api\n", "0\n", "api\nread"])
def test_a_newline_is_not_a_scope_character(text):
    """`$` in a pattern matches before a trailing newline: NQCHAR (RFC 6749 appendix A.4) has none."""
    with pytest.raises(InvalidScope):
        parse(text)
