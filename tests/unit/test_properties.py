"""SECURITY.md S6 properties: the Basic codec round-trips any unicode, the token codec never raises, scopes
parse to NQCHAR tokens only."""

from __future__ import annotations

import base64
import contextlib
from urllib.parse import quote, quote_plus

from hypothesis import given, settings
from hypothesis import strategies as st

from hydralite.crypto.tokens import ACCESS, TokenCodec
from hydralite.engine.client_auth import parse_basic
from hydralite.engine.scopes import parse as parse_scope
from hydralite.errors import InvalidClient, InvalidRequest, InvalidScope

CODEC = TokenCodec(["property-test-secret-0123456789"])
TOKEN, SIG = CODEC.generate(ACCESS)
# Text that survives UTF-8 (no lone surrogates), as any HTTP client would send.
TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=60)


@settings(max_examples=300)
@given(client_id=TEXT.filter(bool), secret=TEXT)
def test_basic_round_trips_any_unicode(client_id, secret):
    for encode in (quote_plus, lambda v: quote(v, safe="")):
        raw = f"{encode(client_id)}:{encode(secret)}"
        assert parse_basic("Basic " + base64.b64encode(raw.encode()).decode()) == (client_id, secret)


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_basic_never_raises_anything_but_oauth_errors(value):
    with contextlib.suppress(InvalidClient, InvalidRequest):
        parse_basic("Basic " + value)


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_basic_of_arbitrary_bytes(data):
    with contextlib.suppress(InvalidClient, InvalidRequest):
        parse_basic("Basic " + base64.b64encode(data).decode())


@settings(max_examples=500)
@given(position=st.integers(min_value=0, max_value=len(TOKEN) - 1), replacement=st.characters())
def test_any_one_character_change_is_rejected(position, replacement):
    mutated = TOKEN[:position] + replacement + TOKEN[position + 1:]
    result = CODEC.signature(mutated, ACCESS)
    assert result is None or mutated == TOKEN


@settings(max_examples=300)
@given(st.text(max_size=300))
def test_token_codec_never_raises(text):
    assert CODEC.signature(text, ACCESS) is None or text == TOKEN
    assert CODEC.signature(ACCESS + text, ACCESS) is None


@settings(max_examples=300)
@given(st.text(max_size=100))
def test_scopes_are_nqchar_and_order_preserving(text):
    try:
        parsed = parse_scope(text)
    except InvalidScope:
        assert any(not ("\x21" <= c <= "\x7e") or c in '"\\' for c in text.replace(" ", ""))
        return
    assert all(s and all("\x21" <= c <= "\x7e" and c not in '"\\' for c in s) for s in parsed)
    assert parsed == list(dict.fromkeys(p for p in text.split(" ") if p))
