"""Every admin error path, table-driven, against the bodies Hydra's error enhancer writes (hydra/x/error_enhancer.go).

A fosite error renders as `{"error": "<code>", "error_description": "<description> <hint>"}`; a herodot error as
`{"error": "<message>", "error_description": "<reason>"}`. Each row names the Hydra source it follows.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import httpx
import pytest
from joserfc.jwk import ECKey, RSAKey

from tests.conftest import run_server

INVALID_REQUEST = ("The request is missing a required parameter, includes an invalid parameter value, includes a "
                   "parameter more than once, or is otherwise malformed.")
REQUEST_UNAUTHORIZED = "The request could not be authorized."
CLIENT_METADATA = ("The value of one of the Client Metadata fields is invalid and the server has rejected this "
                   "request. Note that an Authorization Server MAY choose to substitute a valid value for any "
                   "requested parameter of a Client's Metadata.")
MALFORMED = "The request was malformed or contained invalid parameters"  # herodot.ErrBadRequest
NO_ROWS = "Unable to locate the resource"  # sqlcon.ErrNoRows (herodot)
CONFLICT = "Unable to insert or update resource because a resource with that value exists already"  # sqlcon
FLOW_NOT_FOUND = ("Not Found", "Unable to locate the requested resource")  # x.ErrNotFound (fosite)
UNRECOGNIZABLE = ("error", "The error is unrecognizable")  # a plain Go error through the enhancer
UNSUPPORTED_ALG = ("Bad Request", "Unsupported key algorithm")  # jwk.ErrUnsupportedKeyAlgorithm (fosite)

CLIENT = "admin-errors-client"  # created once per module, see `known`
KEY_SET = "admin-errors-set"
KID = "admin-errors-kid"
MISSING = "no-such-thing"


@dataclass
class Row:
    """One admin request and the error Hydra answers it with; `prefix` compares the description's start only."""

    method: str
    path: str
    status: int
    error: str
    description: str
    prefix: bool = False
    params: dict[str, str] = field(default_factory=dict)
    json: Any = None
    content: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> str:
        query = "&".join(f"{k}={v[:12]}" for k, v in self.params.items())
        body = repr(self.json)[:30] if self.json is not None else repr(self.content)[:20] if self.content else ""
        return f"{self.method} {self.path}?{query} {body}"


def invalid_request(hint: str, prefix: bool = False) -> dict[str, Any]:
    return {"status": 400, "error": "invalid_request", "description": f"{INVALID_REQUEST} {hint}", "prefix": prefix}


def herodot(status: int, message: str, reason: str, prefix: bool = False) -> dict[str, Any]:
    return {"status": status, "error": message, "description": reason, "prefix": prefix}


def ec_key(kid: str, alg: str, curve: str = "P-256") -> dict[str, Any]:
    key = ECKey.generate_key(curve, private=True).as_dict(private=True)
    return {**key, "kid": kid, "alg": alg, "use": "sig"}


def rsa_key(kid: str, alg: str) -> dict[str, Any]:
    key = RSAKey.generate_key(2048, private=True).as_dict(private=True)
    return {**key, "kid": kid, "alg": alg, "use": "sig"}


TRUST = "/admin/trust/grants/jwt-bearer/issuers"
UNKNOWN_TRUST = str(uuid.uuid4())
TRUST_MISSING = "One of the required parameters is missing. Check your request parameters."


def trust_missing(hint: str) -> dict[str, Any]:
    return {"status": 400, "error": "missing_required_parameter", "description": f"{TRUST_MISSING} {hint}"}


def go_error(message: str, prefix: bool = False) -> dict[str, Any]:
    """A Go decoding error written by the trust handler as fosite.RFC6749Error{ErrorField: "error"}."""
    return {"status": 400, "error": "error", "description": message, "prefix": prefix}


NO_CHALLENGE = invalid_request("Query parameter 'challenge' is not defined but should have been.")
LOGIN_UNDECODABLE = invalid_request("Unable to decode body because: ", prefix=True)
LOGOUT_NOT_FOUND = {"status": 404, "error": FLOW_NOT_FOUND[0],
                    "description": f"{FLOW_NOT_FOUND[1]} Failed to decrypt the logout challenge."}
BAD_COMBINATION = invalid_request("Invalid combination of query parameters.")
FLOWS, SESSIONS = "/admin/oauth2/auth/requests", "/admin/oauth2/auth/sessions"
LOGIN_BODY = {"subject": "someone"}

ROWS = [
    # client/handler.go
    Row("GET", f"/admin/clients/{MISSING}", **herodot(404, NO_ROWS, "")),
    Row("DELETE", f"/admin/clients/{MISSING}", **herodot(404, NO_ROWS, "")),
    Row("PUT", f"/admin/clients/{MISSING}", json={"client_name": "x"}, **herodot(404, NO_ROWS, "")),
    Row("PATCH", f"/admin/clients/{MISSING}", json=[{"op": "add", "path": "/client_name", "value": "x"}],
        **herodot(404, NO_ROWS, "")),
    Row("PUT", f"/admin/clients/{MISSING}/lifespans", json={}, **herodot(404, NO_ROWS, "")),
    # the client is looked up before a PATCH or lifespans body is decoded; a PUT body is validated first
    Row("PATCH", f"/admin/clients/{MISSING}", content=b"{nope", **herodot(404, NO_ROWS, "")),
    Row("PUT", f"/admin/clients/{MISSING}/lifespans", content=b"{nope", **herodot(404, NO_ROWS, "")),
    Row("PUT", f"/admin/clients/{MISSING}/lifespans", json=[1], **herodot(404, NO_ROWS, "")),
    Row("PUT", f"/admin/clients/{MISSING}", json={"client_secret": "short"}, status=400,
        error="invalid_client_metadata",
        description=f"{CLIENT_METADATA} Field client_secret must contain a secret that is at least 6 characters long."),
    Row("POST", "/admin/clients", content=b"{nope", **herodot(400, MALFORMED, "Unable to decode the request body: ",
                                                             prefix=True)),
    Row("POST", "/admin/clients", content=b"", headers={"Content-Type": "application/json"},
        **herodot(400, MALFORMED, "Unable to decode the request body: EOF")),
    Row("POST", "/admin/clients", json={"client_name": 5},
        **herodot(400, MALFORMED, "Unable to decode the request body: json: cannot unmarshal number into Go struct "
                                  "field Client.client_name of type string")),
    Row("POST", "/admin/clients", json={"client_id": CLIENT}, **herodot(409, CONFLICT, "")),
    Row("POST", "/admin/clients", json={"redirect_uris": ["https://a.example/#x"]}, status=400,
        error="invalid_redirect_uri",
        description="The value of one or more redirect_uris is invalid. Redirect URIs must not contain fragments (#)."),
    Row("POST", "/admin/clients", json={"tos_uri": "ftp://a.example/tos"}, status=400,
        error="invalid_client_metadata",
        description=f"{CLIENT_METADATA} ftp://a.example/tos must use https:// or http:// as HTTP scheme for field "
                    "tos_uri."),
    Row("GET", "/admin/clients", params={"page_token": "garbage"},
        **herodot(400, MALFORMED, "Unable to parse pagination parameters: ", prefix=True)),
    Row("PUT", f"/admin/clients/{CLIENT}/lifespans", json={"authorization_code_grant_access_token_lifespan": "1y"},
        **herodot(400, MALFORMED, "Unable to decode the request body: ", prefix=True)),
    Row("GET", "/admin/clients", params={"page_size": "abc"},
        **herodot(400, MALFORMED, "Unable to parse pagination parameters: ", prefix=True)),
    Row("PUT", f"/admin/clients/{CLIENT}/lifespans", json=[1],
        **herodot(400, MALFORMED, "Unable to decode the request body: ", prefix=True)),
    # hydralite's own refusals where Hydra answers 500 "The error is unrecognizable" (a bad JSON Patch) or has no
    # check at all (content type, body size): herodot's bad request shape
    Row("PATCH", f"/admin/clients/{CLIENT}", json={"op": "add"},
        **herodot(400, MALFORMED, "Unable to decode JSON Patch: expected an array of operations")),
    Row("PATCH", f"/admin/clients/{CLIENT}", json=[{"op": "replace", "path": "/client_id", "value": "x"}],
        **herodot(400, MALFORMED, "The JSON Patch path '/client_id' may not be changed.")),
    Row("POST", "/admin/clients", content=b"{}", headers={"Content-Type": "text/xml"},
        **herodot(415, "The request's content type is not supported", "Expected application/json, got 'text/xml'.")),
    Row("POST", "/admin/clients", content=b" " * ((1 << 20) + 1), headers={"Content-Type": "application/json"},
        **herodot(413, "The request body is too large", f"The request body must not exceed {1 << 20} bytes.")),
    # oauth2/handler.go: deleteOAuth2Token and introspectOAuth2Token
    Row("DELETE", "/admin/oauth2/tokens",
        **invalid_request("Query parameter 'client_id' is not defined but it should have been.")),
    Row("POST", "/admin/oauth2/introspect", content=b"", headers={"Content-Type": "application/x-www-form-urlencoded"},
        **invalid_request("The POST body can not be empty.")),
    # consent/handler.go: login requests (flow/flow_encoding.go for unknown challenges)
    Row("GET", f"{FLOWS}/login", **NO_CHALLENGE),
    Row("GET", f"{FLOWS}/login", params={"login_challenge": MISSING}, status=404, error=FLOW_NOT_FOUND[0],
        description=FLOW_NOT_FOUND[1]),
    Row("PUT", f"{FLOWS}/login/accept", json=LOGIN_BODY, **NO_CHALLENGE),
    Row("PUT", f"{FLOWS}/login/accept", params={"challenge": MISSING}, json=LOGIN_BODY, status=404,
        error=FLOW_NOT_FOUND[0], description=FLOW_NOT_FOUND[1]),
    Row("PUT", f"{FLOWS}/login/accept", params={"login_challenge": MISSING}, json={},
        **invalid_request("Field 'subject' must not be empty.")),
    Row("PUT", f"{FLOWS}/login/accept", params={"login_challenge": MISSING}, content=b"{nope", **LOGIN_UNDECODABLE),
    Row("PUT", f"{FLOWS}/login/accept", params={"login_challenge": MISSING}, content=b"",
        headers={"Content-Type": "application/json"}, **invalid_request("Unable to decode body because: EOF")),
    Row("PUT", f"{FLOWS}/login/accept", params={"login_challenge": MISSING}, json={"subject": 1},
        **invalid_request("Unable to decode body because: json: cannot unmarshal number into Go struct field "
                          "HandledLoginRequest.subject of type string")),
    Row("PUT", f"{FLOWS}/login/accept", params={"login_challenge": MISSING}, json=[LOGIN_BODY],
        **invalid_request("Unable to decode body because: json: cannot unmarshal array into Go value of type "
                          "flow.HandledLoginRequest")),
    Row("PUT", f"{FLOWS}/login/accept", params={"login_challenge": MISSING},
        json={**LOGIN_BODY, "amr": "pwd"}, **LOGIN_UNDECODABLE),
    Row("PUT", f"{FLOWS}/login/reject", json={}, **NO_CHALLENGE),
    Row("PUT", f"{FLOWS}/login/reject", params={"login_challenge": MISSING}, json={}, status=404,
        error=FLOW_NOT_FOUND[0], description=FLOW_NOT_FOUND[1]),
    Row("PUT", f"{FLOWS}/login/reject", params={"login_challenge": MISSING}, json={"status_code": "401"},
        **LOGIN_UNDECODABLE),
    Row("PUT", f"{FLOWS}/login/reject", params={"login_challenge": MISSING}, content=b"",
        headers={"Content-Type": "application/json"}, **invalid_request("Unable to decode body because: EOF")),
    Row("PUT", f"{FLOWS}/login/reject", params={"login_challenge": MISSING}, json={"status_code": 302},
        **invalid_request("Field 'status_code' must be an HTTP error status (400 to 599).")),
    Row("PUT", f"{FLOWS}/login/accept", params={"login_challenge": MISSING}, json={**LOGIN_BODY, "remember_for": -1},
        **invalid_request("Field 'remember_for' must be an integer between 0 and 2147483647.")),
    # consent requests: a body that does not decode is written as the bare Go error
    Row("GET", f"{FLOWS}/consent", **NO_CHALLENGE),
    Row("GET", f"{FLOWS}/consent", params={"consent_challenge": MISSING}, status=404, error=FLOW_NOT_FOUND[0],
        description=FLOW_NOT_FOUND[1]),
    Row("PUT", f"{FLOWS}/consent/accept", json={}, **NO_CHALLENGE),
    Row("PUT", f"{FLOWS}/consent/accept", params={"consent_challenge": MISSING}, json={}, status=404,
        error=FLOW_NOT_FOUND[0], description=FLOW_NOT_FOUND[1]),
    Row("PUT", f"{FLOWS}/consent/accept", params={"consent_challenge": MISSING}, content=b"{nope", status=400,
        error=UNRECOGNIZABLE[0], description=UNRECOGNIZABLE[1]),
    Row("PUT", f"{FLOWS}/consent/accept", params={"consent_challenge": MISSING}, content=b"",
        headers={"Content-Type": "application/json"}, status=400, error=UNRECOGNIZABLE[0],
        description=UNRECOGNIZABLE[1]),
    Row("PUT", f"{FLOWS}/consent/accept", params={"consent_challenge": MISSING}, json={"grant_scope": "api"},
        status=400, error=UNRECOGNIZABLE[0], description=UNRECOGNIZABLE[1]),
    Row("PUT", f"{FLOWS}/consent/accept", params={"consent_challenge": MISSING},
        json={"session": {"id_token": "x"}}, status=400, error=UNRECOGNIZABLE[0], description=UNRECOGNIZABLE[1]),
    Row("PUT", f"{FLOWS}/consent/reject", json={}, **NO_CHALLENGE),
    Row("PUT", f"{FLOWS}/consent/reject", params={"consent_challenge": MISSING}, json={}, status=404,
        error=FLOW_NOT_FOUND[0], description=FLOW_NOT_FOUND[1]),
    Row("PUT", f"{FLOWS}/consent/reject", params={"consent_challenge": MISSING}, json={"error": 1}, status=400,
        error=UNRECOGNIZABLE[0], description=UNRECOGNIZABLE[1]),
    # logout requests (persistence/sql/persister_consent.go): no challenge check, an empty one fails to decrypt
    Row("GET", f"{FLOWS}/logout", **LOGOUT_NOT_FOUND),
    Row("GET", f"{FLOWS}/logout", params={"logout_challenge": MISSING}, **LOGOUT_NOT_FOUND),
    Row("PUT", f"{FLOWS}/logout/accept", params={"challenge": MISSING}, **LOGOUT_NOT_FOUND),
    Row("PUT", f"{FLOWS}/logout/reject", params={"logout_challenge": MISSING}, **LOGOUT_NOT_FOUND),
    # sessions
    Row("GET", f"{SESSIONS}/consent", **invalid_request("Query parameter 'subject' is not defined but should have "
                                                         "been.")),
    Row("GET", f"{SESSIONS}/consent", params={"subject": "s", "page_token": "x"},
        **invalid_request("Unable to parse pagination parameters: ", prefix=True)),
    Row("DELETE", f"{SESSIONS}/consent", **BAD_COMBINATION),
    Row("DELETE", f"{SESSIONS}/consent", params={"subject": "s"}, **BAD_COMBINATION),
    Row("DELETE", f"{SESSIONS}/consent", params={"subject": "s", "all": "false"}, **BAD_COMBINATION),
    Row("DELETE", f"{SESSIONS}/consent", params={"client": "c"}, **BAD_COMBINATION),
    Row("DELETE", f"{SESSIONS}/consent", params={"all": "true"}, **BAD_COMBINATION),
    Row("DELETE", f"{SESSIONS}/consent", params={"subject": "s", "client": "c", "all": "true"}, **BAD_COMBINATION),
    Row("DELETE", f"{SESSIONS}/consent", params={"subject": "s", "client": "c", "consent_request_id": "x"},
        **BAD_COMBINATION),
    Row("DELETE", f"{SESSIONS}/consent", params={"subject": "s", "all": "true", "consent_request_id": "x"},
        **BAD_COMBINATION),
    Row("DELETE", f"{SESSIONS}/login",
        **invalid_request("Either 'subject' or 'sid' query parameters need to be defined.")),
    # jwk/handler.go and persistence/sql/persister_jwk.go
    Row("GET", f"/admin/keys/{MISSING}", status=404, error=FLOW_NOT_FOUND[0], description=FLOW_NOT_FOUND[1]),
    Row("GET", f"/admin/keys/{KEY_SET}/{MISSING}", **herodot(404, NO_ROWS, "")),
    Row("GET", f"/admin/keys/{MISSING}/{MISSING}", **herodot(404, NO_ROWS, "")),
    Row("POST", f"/admin/keys/{MISSING}", json={"alg": "HS256"}, status=400, error=UNSUPPORTED_ALG[0],
        description=UNSUPPORTED_ALG[1]),
    Row("POST", f"/admin/keys/{MISSING}", json={}, status=400, error=UNSUPPORTED_ALG[0],
        description=UNSUPPORTED_ALG[1]),
    Row("POST", f"/admin/keys/{MISSING}", json={"alg": 256},
        **herodot(400, MALFORMED, "Unable to decode the request body: json: cannot unmarshal number into Go struct "
                                  "field createJsonWebKeySetBody.alg of type string")),
    Row("POST", f"/admin/keys/{MISSING}", content=b"{nope",
        **herodot(400, MALFORMED, "Unable to decode the request body: ", prefix=True)),
    Row("POST", f"/admin/keys/{KEY_SET}", json={"alg": "ES256", "kid": KID}, **herodot(409, CONFLICT, "")),
    Row("POST", f"/admin/keys/{MISSING}", json={"alg": "ES256", "use": "sign"},
        **herodot(400, MALFORMED, "Field 'use' must be 'sig' or 'enc'.")),  # Hydra stores any use
    Row("GET", f"/admin/keys/{'s' * 300}", **herodot(400, MALFORMED, "The key set name or key id is too long.")),
    Row("PUT", f"/admin/keys/{MISSING}", json={"keys": "x"},
        **herodot(400, MALFORMED, "Unable to decode the request body: ", prefix=True)),
    Row("PUT", f"/admin/keys/{MISSING}/k", json={"kty": "nope", "kid": "k"},
        **herodot(400, MALFORMED, "Unable to decode the request body: ", prefix=True)),
    # item 6: an alg that does not fit the key type (Hydra stores it and fails when signing; hydralite refuses)
    Row("PUT", f"/admin/keys/{MISSING}/ec", json=ec_key("ec", "RS256"), status=400, error=UNSUPPORTED_ALG[0],
        description=UNSUPPORTED_ALG[1]),
    Row("PUT", f"/admin/keys/{MISSING}/ec", json=ec_key("ec", "ES384"), status=400, error=UNSUPPORTED_ALG[0],
        description=UNSUPPORTED_ALG[1]),
    Row("PUT", f"/admin/keys/{MISSING}", json={"keys": [ec_key("ec", "RS256")]}, status=400,
        error=UNSUPPORTED_ALG[0], description=UNSUPPORTED_ALG[1]),
    Row("PUT", f"/admin/keys/{MISSING}", json={"keys": [rsa_key("rsa", "ES256")]}, status=400,
        error=UNSUPPORTED_ALG[0], description=UNSUPPORTED_ALG[1]),
    # oauth2/trust: handler.go (a body Go cannot decode is {"error": "error", …}), validator.go
    # (trust.ErrMissingRequiredParameter), gofrs/uuid errors for the id, sqlcon no-rows for a missing relationship
    Row("POST", TRUST, json={}, **trust_missing("Field 'issuer' is required.")),
    Row("POST", TRUST, json=None, content=b"null", headers={"Content-Type": "application/json"},
        **trust_missing("Field 'issuer' is required.")),
    Row("POST", TRUST, json={"issuer": "https://i.example"},
        **trust_missing("One of 'subject' or 'allow_any_subject' field must be set.")),
    Row("POST", TRUST, json={"issuer": "https://i.example", "subject": "s", "allow_any_subject": True},
        **trust_missing("Both 'subject' and 'allow_any_subject' fields cannot be set at the same time.")),
    Row("POST", TRUST, json={"issuer": "https://i.example", "subject": "s"},
        **trust_missing("Field 'expires_at' is required.")),
    Row("POST", TRUST, json={"issuer": "https://i.example", "subject": "s", "expires_at": "0001-01-01T00:00:00Z"},
        **trust_missing("Field 'expires_at' is required.")),
    Row("POST", TRUST, json={"issuer": "https://i.example", "subject": "s", "expires_at": "2030-01-01T00:00:00Z"},
        **trust_missing("Field 'jwk' must contain JWK with kid header.")),
    Row("POST", TRUST, json={"issuer": "https://i.example", "subject": "s", "expires_at": "2030-01-01T00:00:00Z",
                             "jwk": {k: v for k, v in ec_key("x", "ES256").items() if k not in ("kid", "d")}},
        **trust_missing("Field 'jwk' must contain JWK with kid header.")),
    Row("POST", TRUST, json={"issuer": 5},
        **go_error("json: cannot unmarshal number into Go struct field createGrantRequest.issuer of type string")),
    Row("POST", TRUST, json={"allow_any_subject": "yes"},
        **go_error("json: cannot unmarshal string into Go struct field createGrantRequest.allow_any_subject of "
                   "type bool")),
    Row("POST", TRUST, json={"scope": "api"},
        **go_error("json: cannot unmarshal string into Go struct field createGrantRequest.scope of type []string")),
    Row("POST", TRUST, json={"scope": [1]},
        **go_error("json: cannot unmarshal number into Go struct field createGrantRequest.scope of type string")),
    Row("POST", TRUST, json=[{"issuer": "x"}],
        **go_error("json: cannot unmarshal array into Go value of type trust.createGrantRequest")),
    Row("POST", TRUST, json={"expires_at": "tomorrow"}, **go_error("parsing time 'tomorrow' as ", prefix=True)),
    Row("POST", TRUST, json={"expires_at": 1}, **go_error("Time.UnmarshalJSON: input is not a JSON string")),
    Row("POST", TRUST, json={"jwk": {"kty": "nope"}}, **go_error("go-jose/go-jose: unknown json web key type 'nope'")),
    Row("POST", TRUST, json={"jwk": {"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA", "kid": "k"}},
        **go_error("go-jose/go-jose: invalid EC key")),
    Row("POST", TRUST, json={"jwk": {"kty": "RSA", "kid": 5}},
        **go_error("json: cannot unmarshal number into Go struct field rawJSONWebKey.kid of type string")),
    Row("POST", TRUST, content=b"", headers={"Content-Type": "application/json"}, **go_error("EOF")),
    Row("POST", TRUST, content=b"{nope", **go_error("invalid character", prefix=True)),
    # hydralite's own refusals: a shared secret is not a public key; Hydra's VARCHAR(255) columns fail in the database
    Row("POST", TRUST, json={"issuer": "https://i.example", "subject": "s", "expires_at": "2030-01-01T00:00:00Z",
                             "jwk": {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ", "kid": "k"}},
        **herodot(400, MALFORMED, "Field 'jwk' must be a public key (kty RSA, EC or OKP); symmetric keys are not "
                                  "accepted.")),
    Row("POST", TRUST, json={"issuer": "https://i.example/" + "x" * 300, "subject": "s",
                             "expires_at": "2030-01-01T00:00:00Z", "jwk": ec_key("k", "ES256")},
        **herodot(400, MALFORMED, "Fields 'issuer', 'subject' and the jwk's 'kid' must be at most 255 characters.")),
    Row("GET", f"{TRUST}/{MISSING}",
        **herodot(400, MALFORMED, f"Unable to parse parameter id: uuid: incorrect UUID length 13 in string "
                                  f"'{MISSING}'")),
    Row("GET", f"{TRUST}/{'z' * 8}-zzzz-zzzz-zzzz-{'z' * 12}",
        **herodot(400, MALFORMED, "Unable to parse parameter id: uuid: incorrect UUID format in string ",
                  prefix=True)),
    Row("DELETE", f"{TRUST}/{MISSING}", **herodot(400, MALFORMED, "Unable to parse parameter id: ", prefix=True)),
    Row("GET", f"{TRUST}/{UNKNOWN_TRUST}", **herodot(404, NO_ROWS, "")),
    Row("DELETE", f"{TRUST}/{UNKNOWN_TRUST}", **herodot(404, NO_ROWS, "")),
    Row("GET", TRUST, params={"page_token": "garbage"},
        **herodot(400, MALFORMED, "Unable to parse pagination parameters: ", prefix=True)),
    Row("GET", TRUST, params={"page_size": "abc"},
        **herodot(400, MALFORMED, "Unable to parse pagination parameters: strconv.Atoi: parsing 'abc': invalid "
                                  "syntax")),
]


@pytest.fixture(scope="module")
async def known(server) -> AsyncIterator[None]:
    """The client and key set some rows need to exist."""
    async with httpx.AsyncClient(base_url=server.admin_url, timeout=30) as admin:
        created = await admin.post("/admin/clients", json={"client_id": CLIENT})
        assert created.status_code in (201, 409), created.text
        key = await admin.put(f"/admin/keys/{KEY_SET}/{KID}", json=ec_key(KID, "ES256"))
        assert key.status_code == 200, key.text
        yield


def assert_error(response: httpx.Response, status: int, error: str, description: str, prefix: bool) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json"), response.headers
    body = response.json()
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] == error, body
    if prefix:
        assert body["error_description"].startswith(description), body
        assert body["error_description"] != description, body
    else:
        assert body["error_description"] == description, body


@pytest.mark.parametrize("row", ROWS, ids=[row.id for row in ROWS])
async def test_admin_error(admin, known, row: Row) -> None:
    kwargs: dict[str, Any] = {"params": row.params, "headers": row.headers}
    if row.json is not None:
        kwargs["json"] = row.json
    elif row.content is not None:
        kwargs["content"] = row.content
    response = await admin.request(row.method, row.path, **kwargs)
    assert_error(response, row.status, row.error, row.description, row.prefix)


async def test_a_fitting_key_is_imported(admin) -> None:
    """The other side of the alg/kty check: keys whose alg fits their type and curve are stored."""
    name = f"fits-{uuid.uuid4().hex[:8]}"
    assert (await admin.put(f"/admin/keys/{name}/ec", json=ec_key("ec", "ES384", "P-384"))).status_code == 200
    assert (await admin.put(f"/admin/keys/{name}/rsa", json=rsa_key("rsa", "PS256"))).status_code == 200
    unknown_alg = {**ec_key("enc", "ECDH-ES"), "use": "enc"}  # algs hydralite does not know pass, as in Hydra
    assert (await admin.put(f"/admin/keys/{name}/enc", json=unknown_alg)).status_code == 200
    assert {k["kid"] for k in (await admin.get(f"/admin/keys/{name}")).json()["keys"]} == {"ec", "rsa", "enc"}


@pytest.fixture(scope="module")
async def short_lived(postgres, template_db) -> AsyncIterator[Any]:
    """A server whose login/consent and logout requests expire a millisecond after they are made."""
    dsn = await postgres.create_database(template_db)
    with run_server(dsn, TTL_LOGIN_CONSENT_REQUEST="1ms") as srv:
        yield srv


async def test_an_expired_login_request_is_request_unauthorized(short_lived) -> None:
    """flow/flow_encoding.go: fosite.ErrRequestUnauthorized with the hint naming the request type."""
    redirect = "http://127.0.0.1:5557/callback"
    async with httpx.AsyncClient(base_url=short_lived.admin_url, timeout=30) as admin, \
            httpx.AsyncClient(base_url=short_lived.public_url, timeout=30) as public:
        client = (await admin.post("/admin/clients", json={"redirect_uris": [redirect], "scope": "openid",
                                                           "response_types": ["code"],
                                                           "grant_types": ["authorization_code"]})).json()
        start = await public.get("/oauth2/auth", params={
            "client_id": client["client_id"], "response_type": "code", "scope": "openid", "redirect_uri": redirect,
            "state": "s" * 16})
        assert start.status_code in (302, 303), start.text
        challenge = httpx.URL(start.headers["location"]).params["login_challenge"]
        expected = f"{REQUEST_UNAUTHORIZED} The login request has expired, please try again."
        for method, path, body in (("GET", "login", None), ("PUT", "login/accept", LOGIN_BODY),
                                   ("PUT", "login/reject", {})):
            response = await admin.request(method, f"{FLOWS}/{path}", params={"login_challenge": challenge},
                                           json=body)
            assert_error(response, 401, "request_unauthorized", expected, False)


@pytest.mark.parametrize("name", ["ü€-𝔘", "a\r\nx-injected: 1"])
async def test_client_input_in_location_and_link_headers_is_percent_encoded(admin, name: str) -> None:
    """Found by fuzzing: a client id, key set or subject outside Latin-1 (or with a CR/LF) went raw into the
    Location or Link header, and the answer was a 500 after the write had happened. Now it is percent-encoded."""
    suffix = uuid.uuid4().hex[:8]
    created = await admin.post("/admin/clients", json={"client_id": f"{name}-{suffix}"})
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/admin/clients/{quote(name, safe=': ')}-{suffix}"
    assert "x-injected" not in created.headers
    key = await admin.post(f"/admin/keys/{quote(name, safe='')}-{suffix}", json={"alg": "ES256", "use": "sig"})
    assert key.status_code == 201, key.text
    assert key.headers["location"].endswith(f"/keys/{quote(name, safe=': ')}-{suffix}")
    sessions = await admin.get("/admin/oauth2/auth/sessions/consent", params={"subject": f"{name}&page_size=1"})
    assert sessions.status_code == 200 and sessions.json() == [], sessions.text
    assert f"?{urlencode({'subject': f'{name}&page_size=1'})}&page_size=100&page_token=0>" in sessions.headers["link"]


async def test_page_tokens_and_sizes_past_int64_are_never_a_500(admin) -> None:
    """Pagination parameters reach SQL as integers: out-of-range values answer like any other, not 500."""
    big = "9" * 30
    for path, params in (("/admin/oauth2/auth/sessions/consent", {"subject": "s", "page_token": big}),
                         ("/admin/clients", {"page_token": big}),
                         ("/admin/clients", {"page_size": big}),
                         ("/admin/trust/grants/jwt-bearer/issuers", {"page_token": big})):
        response = await admin.get(path, params=params)
        assert response.status_code < 500, (path, params, response.status_code, response.text)
