"""Client validation rule by rule against Hydra's client/validator.go (Validate, ValidateDynamicRegistration) and the
decoding in client/handler.go: Go's net/url decides which URIs parse, go-jose decides which JWKs decode, and the
error texts are Hydra's (fosite turns `"` into `'` in error descriptions)."""

from __future__ import annotations

import base64
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.conftest import Postgres, Server, run_server

MALFORMED = "The request was malformed or contained invalid parameters"
METADATA = ("The value of one of the Client Metadata fields is invalid and the server has rejected this request. Note "
            "that an Authorization Server MAY choose to substitute a valid value for any requested parameter of a "
            "Client's Metadata. ")
REDIRECT = "The value of one or more redirect_uris is invalid. "
REGISTER = "/oauth2/register"


def b64(number: int, size: int | None = None) -> str:
    raw = number.to_bytes(size or (number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def rsa_jwk() -> dict[str, Any]:
    numbers = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key().public_numbers()
    return {"kty": "RSA", "kid": "r1", "use": "sig", "alg": "RS256", "n": b64(numbers.n), "e": b64(numbers.e)}


def ec_jwk() -> dict[str, Any]:
    numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    # With `use` and `alg`: the clients made here stay on the shared server, and Hydra's SDK (test_hydra_sdk.py
    # lists every client) cannot read a key without them, from Hydra or from hydralite.
    return {"kty": "EC", "crv": "P-256", "kid": "e1", "use": "sig", "alg": "ES256", "x": b64(numbers.x, 32),
            "y": b64(numbers.y, 32)}


async def create(admin: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    return await admin.post("/admin/clients", json={"client_name": f"parity-{uuid.uuid4().hex[:8]}", **fields})


def assert_error(response: httpx.Response, error: str, description: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json() == {"error": error, "error_description": description}


def created(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return response.json()


# --- jwks: the key set exists as soon as `keys` is there (Go allocates the embedded *jose.JSONWebKeySet) ---

async def test_private_key_jwt_accepts_a_present_but_empty_key_set(admin: httpx.AsyncClient) -> None:
    empty: tuple[list[Any] | None, ...] = ([], None)
    for keys in empty:
        c = created(await create(admin, token_endpoint_auth_method="private_key_jwt", jwks={"keys": keys}))
        assert c["jwks"] == {"keys": keys} and c["token_endpoint_auth_method"] == "private_key_jwt"
        assert (await admin.get(f"/admin/clients/{c['client_id']}")).json()["jwks"] == {"keys": keys}
    assert_error(await create(admin, token_endpoint_auth_method="private_key_jwt", jwks={}), "invalid_client_metadata",
                 METADATA + "When token_endpoint_auth_method is 'private_key_jwt', either jwks or jwks_uri must be "
                            "set.")


async def test_an_empty_key_set_still_conflicts_with_jwks_uri(admin: httpx.AsyncClient) -> None:
    assert_error(await create(admin, jwks_uri="https://keys.example.com/jwks", jwks={"keys": []}),
                 "invalid_client_metadata", METADATA + "Fields jwks and jwks_uri can not both be set, you must choose "
                                                       "one.")
    c = created(await create(admin, jwks_uri="https://keys.example.com/jwks", jwks={}))
    assert c["jwks"] == {} and c["jwks_uri"] == "https://keys.example.com/jwks"


# --- jwks: every key goes through go-jose's JSONWebKey.UnmarshalJSON, then Valid() ---

async def test_real_public_keys_are_accepted(admin: httpx.AsyncClient) -> None:
    keys: list[dict[str, Any]] = [rsa_jwk(), ec_jwk(), {"kty": "OKP", "crv": "Ed25519", "x": b64(7, 32)}]
    c = created(await create(admin, token_endpoint_auth_method="private_key_jwt", jwks={"keys": keys}))
    assert [k["kid"] for k in c["jwks"]["keys"][:2]] == ["r1", "e1"]
    # Hydra's SDK cannot read a key without kid, use and alg (from Hydra either): gone before test_hydra_sdk lists.
    assert (await admin.delete(f"/admin/clients/{c['client_id']}")).status_code == 204


@pytest.mark.parametrize(("key", "reason"), [
    ({"kty": "FOO"}, "go-jose/go-jose: unknown json web key type 'FOO'"),
    ({"use": "sig"}, "go-jose/go-jose: unknown json web key type ''"),
    (None, "go-jose/go-jose: unknown json web key type ''"),
    ({"kty": "RSA", "n": "AQAB"}, "go-jose/go-jose: invalid RSA key, missing n/e values"),
    ({"kty": "RSA", "n": "A*B", "e": "AQAB"}, "illegal base64 data at input byte 1"),
    ({"kty": "RSA", "n": "AQAB", "e": "AQABA"}, "illegal base64 data at input byte 4"),
    ({"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}, "go-jose/go-jose: invalid EC public key, wrong length for x"),
    ({"kty": "EC", "crv": "P-256", "x": b64(1, 32), "y": b64(1, 32)},
     "go-jose/go-jose: invalid EC key, X/Y are not on declared curve"),
    ({"kty": "EC", "crv": "secp256k1", "x": "AA", "y": "AA"},
     "go-jose/go-jose: unsupported elliptic curve 'secp256k1'"),
    ({"kty": "OKP", "crv": "X25519", "x": "AA"}, "go-jose/go-jose: unknown curve X25519'"),
    ({"kty": "oct"}, "go-jose/go-jose: invalid OCT (symmetric) key, missing k value"),
], ids=["unknown-kty", "no-kty", "null", "rsa-no-e", "bad-base64", "short-base64", "ec-length", "ec-off-curve",
        "ec-curve", "okp-curve", "oct-no-k"])
async def test_keys_go_jose_cannot_decode_are_a_decode_error(admin: httpx.AsyncClient, key: Any, reason: str) -> None:
    assert_error(await create(admin, jwks={"keys": [key]}), MALFORMED, f"Unable to decode the request body: {reason}")


@pytest.mark.parametrize("key", [{"kty": "oct", "k": "c2VjcmV0LXNlY3JldA"}, {"kty": "RSA", "n": "AQAB", "e": "AA"}],
                         ids=["symmetric", "rsa-exponent-0"])
async def test_keys_that_decode_but_are_not_valid(admin: httpx.AsyncClient, key: Any) -> None:
    assert_error(await create(admin, jwks={"keys": [rsa_jwk(), key]}), "invalid_client_metadata",
                 METADATA + "Invalid JSON web key in set.")


# --- tos_uri, policy_uri, logo_uri, client_uri: url.ParseRequestURI, then the scheme ---

@pytest.mark.parametrize("field", ["tos_uri", "policy_uri", "logo_uri", "client_uri"])
async def test_informational_uris_are_read_as_go_reads_them(admin: httpx.AsyncClient, field: str) -> None:
    for uri in ("http://", "https:terms", "https://docs.example.com/terms?x=1#top"):
        assert created(await create(admin, **{field: uri}))[field] == uri
    assert_error(await create(admin, **{field: "/terms"}), "invalid_client_metadata",
                 METADATA + f"/terms must use https:// or http:// as HTTP scheme for field {field}.")
    for uri in ("terms", "https://docs.example.com/%zz", "https://docs.example.com:web/", "https://docs.example.com/\t"):
        assert_error(await create(admin, **{field: uri}), "invalid_client_metadata",
                     METADATA + f"Field {field} must be a valid URI.")


# --- allowed_cors_origins: url.Parse, and the origin stored as Go's URL.String() writes it ---

@pytest.mark.parametrize(("origin", "reason"), [
    ("https://app.example.com:web", "parse 'https://app.example.com:web': invalid port ':web' after host"),
    ("https://[::1", "parse 'https://[::1': missing ']' in host"),
    ("https://app example.com", "parse 'https://app example.com': invalid character ' ' in host name"),
    ("https://app.example.com/%zz", "parse 'https://app.example.com/%zz': invalid URL escape '%zz'"),
    ("https://app.example.com#%zz", "parse 'https://app.example.com#%zz': invalid URL escape '%zz'"),
    (":app", "parse ':app': missing protocol scheme"),
], ids=["port", "bracket", "space", "escape", "fragment-escape", "no-scheme"])
async def test_unparsable_origins_quote_go_s_error(admin: httpx.AsyncClient, origin: str, reason: str) -> None:
    assert_error(await create(admin, allowed_cors_origins=[origin]), "invalid_client_metadata",
                 METADATA + f"Origin URL {origin} from allowed_cors_origins could not be parsed: {reason}")


async def test_origins_are_stored_as_go_writes_them(admin: httpx.AsyncClient) -> None:
    sent = ["HTTPS://App.Example.com/", "https://app.example.com?", "https:app.example.com", "https://",
            "http://localhost:3000//"]
    c = created(await create(admin, allowed_cors_origins=sent))
    assert c["allowed_cors_origins"] == ["https://App.Example.com", "https://app.example.com?", "https:app.example.com",
                                         "https:", "http://localhost:3000"]
    assert (await admin.get(f"/admin/clients/{c['client_id']}")).json()["allowed_cors_origins"] == \
        c["allowed_cors_origins"]


async def test_an_origin_with_an_empty_password_still_has_user_info(admin: httpx.AsyncClient) -> None:
    assert_error(await create(admin, allowed_cors_origins=["https://:@app.example.com"]), "invalid_client_metadata",
                 METADATA + "Origin URL https://:@app.example.com has HTTP user and/or password set which is not "
                            "allowed.")
    assert created(await create(admin, allowed_cors_origins=["https://@app.example.com"]))["allowed_cors_origins"] == \
        ["https://@app.example.com"]


# --- redirect_uris and post_logout_redirect_uris ---

@pytest.mark.parametrize("uri", ["https://app.example.com:web/cb", "https://app.example.com/%zz", "https://app.exa{mple.com/cb"])
async def test_redirect_uris_go_cannot_parse(admin: httpx.AsyncClient, uri: str) -> None:
    assert_error(await create(admin, redirect_uris=[uri]), "invalid_redirect_uri",
                 REDIRECT + f"Unable to parse redirect URL: {uri}")


async def test_post_logout_uris_compare_scheme_host_and_port_as_go_does(admin: httpx.AsyncClient) -> None:
    redirect = ["https://App.example.com/cb", "http://localhost:8080/cb"]
    for uri in ("/out", "https://app.example.com/out", "http://localhost/out", "https://App.example.com:443/out"):
        assert_error(await create(admin, redirect_uris=redirect, post_logout_redirect_uris=[uri]),
                     "invalid_client_metadata",
                     METADATA + f"post_logout_redirect_uri '{uri}' must match the domain, port, scheme of at least one "
                                "of the registered redirect URIs but did not")
    ok = ["https://App.example.com/bye?x=1", "http://localhost:8080/"]
    assert created(await create(admin, redirect_uris=redirect, post_logout_redirect_uris=ok))[
        "post_logout_redirect_uris"] == ok
    assert_error(await create(admin, redirect_uris=redirect, post_logout_redirect_uris=["https://App.example.com:x/"]),
                 "invalid_client_metadata", METADATA + "Unable to parse post_logout_redirect_uri: "
                                                       "https://App.example.com:x/")


# --- access_token_strategy: config.ToAccessTokenStrategyType's error ---

async def test_unknown_access_token_strategy(admin: httpx.AsyncClient) -> None:
    assert_error(await create(admin, access_token_strategy="Paseto"), "invalid_client_metadata",
                 METADATA + "invalid access token strategy: expected one of [jwt, opaque] but got paseto")
    assert created(await create(admin, access_token_strategy="JWT"))["access_token_strategy"] == "jwt"


# --- dynamic registration ---

@pytest.fixture(scope="module")
async def reg(postgres: Postgres, template_db: str) -> AsyncIterator[Server]:
    dsn = await postgres.create_database(template_db)
    with run_server(dsn, OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED="true") as srv:
        yield srv


@pytest.fixture
async def pub(reg: Server) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=reg.public_url, timeout=30) as client:
        yield client


async def test_dynamic_public_client_with_client_credentials_is_refused(pub: httpx.AsyncClient) -> None:
    # Differs from Hydra on purpose (SECURITY.md C7): Hydra's validator does not look at grant types.
    response = await pub.post(REGISTER, json={"token_endpoint_auth_method": "none",
                                              "grant_types": ["client_credentials"]})
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_client_metadata"
    assert "client_credentials" in response.json()["error_description"]
    # Either alone is fine.
    assert (await pub.post(REGISTER, json={"token_endpoint_auth_method": "none"})).status_code == 201
    assert (await pub.post(REGISTER, json={"grant_types": ["client_credentials"]})).status_code == 201


async def test_dynamic_create_answer_shows_unset_arrays_as_hydra(pub: httpx.AsyncClient) -> None:
    c = created(await pub.post(REGISTER, json={"client_name": "arrays"}))
    for key in ("redirect_uris", "grant_types", "response_types", "contacts"):
        assert c[key] is None, key  # Go's nil slice in the in-memory struct
    assert c["audience"] == [] and c["allowed_cors_origins"] == []  # BeforeSave
    assert "request_uris" not in c and "post_logout_redirect_uris" not in c  # omitempty
    assert c["jwks"] == {} and c["metadata"] == {}


async def test_dynamic_registration_runs_the_same_key_and_uri_rules(pub: httpx.AsyncClient) -> None:
    assert_error(await pub.post(REGISTER, json={"jwks": {"keys": [{"kty": "FOO"}]}}), MALFORMED,
                 "Unable to decode the request body: go-jose/go-jose: unknown json web key type 'FOO'")
    assert_error(await pub.post(REGISTER, json={"jwks": {"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}}),
                 "invalid_client_metadata", METADATA + "Invalid JSON web key in set.")
    assert_error(await pub.post(REGISTER, json={"allowed_cors_origins": ["https://a.example.com:x"]}),
                 "invalid_client_metadata",
                 METADATA + "Origin URL https://a.example.com:x from allowed_cors_origins could not be parsed: parse "
                            "'https://a.example.com:x': invalid port ':x' after host")
    c = created(await pub.post(REGISTER, json={"token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": []}}))
    headers = {"Authorization": f"Bearer {c['registration_access_token']}"}
    put = await pub.put(f"{REGISTER}/{c['client_id']}", headers=headers, json={"jwks": {"keys": [{"kty": "RSA"}]}})
    assert_error(put, MALFORMED, "Unable to decode the request body. Is it valid JSON?")
