"""Implicit/hybrid request checks in fosite's order, and at_hash/c_hash per signing alg (OIDC Core §3.3.2.11)."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime

import pytest

from hydralite.engine import oidc, response_types
from hydralite.errors import OAuthError
from hydralite.models import Client

NONCE = "nonce-0123456789"


def client(*grants: str) -> Client:
    at = datetime.now(UTC)
    return Client(id="c", metadata={"grant_types": list(grants)}, secret_hash=None, rotated_secrets=(),
                  created_at=at, updated_at=at)


def error(c: Client, types: str, mode: str = "", nonce: str = NONCE, sent: bool = True,
          scope: tuple[str, ...] = ("openid",)) -> str:
    try:
        response_types.check(c, types.split(), mode, nonce, sent, scope)
    except OAuthError as exc:
        return f"{exc.error}: {exc.hint}"
    return ""


def test_accepted_combinations():
    both = client("authorization_code", "implicit")
    for types in ("token", "id_token", "id_token token", "token id_token", "code id_token", "code token",
                  "token code id_token"):
        assert error(both, types) == "", types
    assert error(client("authorization_code"), "code id_token") == ""  # hybrid without a token needs no implicit
    assert error(both, "code token", nonce="") == ""  # the nonce is required only with an ID token
    assert error(both, "token", nonce="", sent=False, scope=()) == ""
    assert error(both, "token", mode="form_post") == "" and error(both, "id_token", mode="fragment") == ""


def test_refusals_and_their_order():
    both = client("authorization_code", "implicit")
    assert error(both, "code none").startswith("unsupported_response_type")
    assert error(both, "token token").startswith("unsupported_response_type")
    assert error(both, "id_token", scope=("api",)).startswith("unsupported_response_type")
    assert error(client("authorization_code"), "id_token token", nonce="") == \
        "invalid_grant: The OAuth 2.0 Client is not allowed to use the authorization grant 'implicit'."
    assert error(both, "id_token", nonce="", sent=False).endswith("required when using OpenID Connect 1.0.")
    assert error(both, "id_token", nonce="") == \
        "invalid_request: Parameter 'nonce' must be set when using the OpenID Connect Implicit Flow."
    # Hybrid: the nonce comes first, then redirect_uri, then the grant types.
    assert "Hybrid Flow" in error(client(), "code id_token", nonce="", sent=False)
    assert error(client(), "code token", sent=False).endswith("required when using OpenID Connect 1.0.")
    assert error(client("implicit"), "code token") == \
        "invalid_grant: The OAuth 2.0 Client is not allowed to use authorization grant 'authorization_code'."
    assert "'implicit'" in error(client("authorization_code"), "code token")
    assert error(both, "token id_token", mode="query") == \
        "unsupported_response_mode: Insecure response_mode 'query' for the response_type '[token id_token]'."


@pytest.mark.parametrize(("alg", "digest"), [("RS256", hashlib.sha256), ("ES256", hashlib.sha256),
                                             ("PS384", hashlib.sha384), ("ES512", hashlib.sha512),
                                             ("EdDSA", hashlib.sha512)])
def test_token_hash_follows_the_alg(alg, digest):
    value = "ory_ac_abc.def"
    full = digest(value.encode()).digest()
    assert oidc.token_hash(value, alg) == base64.urlsafe_b64encode(full[:len(full) // 2]).rstrip(b"=").decode()
    assert oidc.at_hash(value) == oidc.token_hash(value, "RS256")
