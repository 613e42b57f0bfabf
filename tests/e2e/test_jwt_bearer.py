"""The RFC 7523 jwt-bearer grant with Hydra's trust relationships, over real sockets.

A relationship created through /admin/trust/grants/jwt-bearer/issuers lets a JWT signed by that issuer (a key made
here with joserfc) be exchanged for an access token whose subject is the assertion's; deleting it stops that. Every
defective assertion is a 4xx with fosite's error, never a 500. Bodies and hints follow Hydra's oauth2/trust and
fosite's handler/rfc7523.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from tests.conftest import basic, run_server

GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
TRUST = "/admin/trust/grants/jwt-bearer/issuers"
INVALID_GRANT = ("The provided authorization grant (e.g., authorization code, resource owner credentials) or "
                 "refresh token is invalid, expired, revoked, does not match the redirection URI used in the "
                 "authorization request, or was issued to another client.")
MISSING = "One of the required parameters is missing. Check your request parameters."


def later(seconds: float) -> str:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


class Issuer:
    """An external identity provider: its URL, its key (joserfc) and the assertions it signs."""

    def __init__(self, kty: str = "EC", kid: str | None = None):
        self.url = f"https://idp-{uuid.uuid4().hex[:8]}.example.com"
        self.kid = kid or uuid.uuid4().hex[:8]
        params: dict[str, Any] = {"kid": self.kid}
        self.key: Any = (ECKey.generate_key("P-256", parameters=params, private=True) if kty == "EC"
                         else RSAKey.generate_key(2048, parameters=params, private=True))
        self.alg = "ES256" if kty == "EC" else "RS256"

    @property
    def public_jwk(self) -> dict[str, Any]:
        return {**self.key.as_dict(private=False), "use": "sig", "alg": self.alg}

    def trust(self, **fields: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"issuer": self.url, "scope": ["api", "read"], "jwk": self.public_jwk,
                                "expires_at": later(3600)}
        body.update(fields)
        return body

    def sign(self, audience: str, sub: str = "alice", *, header: dict[str, Any] | None = None, key: Any = None,
             drop: tuple[str, ...] = (), **claims: Any) -> str:
        now = int(time.time())
        payload: dict[str, Any] = {"iss": self.url, "sub": sub, "aud": audience, "exp": now + 300, "iat": now,
                                   "jti": uuid.uuid4().hex}
        payload.update(claims)
        for name in drop:
            payload.pop(name, None)
        head = {"alg": self.alg, "kid": self.kid, "typ": "JWT", **(header or {})}
        head = {k: v for k, v in head.items() if v is not None}
        return jwt.encode(head, payload, key or self.key, algorithms=[head["alg"]])


@pytest.fixture
async def token_url(server) -> str:
    return f"{server.public_url}/oauth2/token"


@pytest.fixture
async def exchanger(make_client) -> dict[str, Any]:
    """A confidential client allowed to use the grant."""
    return await make_client(grant_types=[GRANT, "client_credentials"], scope="api")


async def exchange(public: httpx.AsyncClient, client: dict[str, Any], assertion: str, **form: str) -> httpx.Response:
    return await public.post("/oauth2/token", data={"grant_type": GRANT, "assertion": assertion, **form},
                             headers=basic(client["client_id"], client["client_secret"]))


def assert_oauth_error(response: httpx.Response, status: int, error: str, hint: str = "") -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    if hint:
        assert hint in body["error_description"], body


async def test_trusted_issuer_assertion_becomes_a_token_until_the_trust_is_deleted(admin, public, exchanger,
                                                                                   token_url):
    issuer = Issuer()
    created = await admin.post(TRUST, json=issuer.trust(subject="alice"))
    assert created.status_code == 201, created.text
    grant = created.json()
    assert list(grant) == ["id", "issuer", "subject", "allow_any_subject", "scope", "public_key", "created_at",
                           "expires_at"]
    assert grant["issuer"] == issuer.url and grant["subject"] == "alice" and grant["allow_any_subject"] is False
    assert grant["scope"] == ["api", "read"] and grant["public_key"] == {"set": issuer.url, "kid": issuer.kid}
    assert created.headers["location"] == f"/trust/grants/jwt-bearer/issuers/{grant['id']}"
    assert uuid.UUID(grant["id"]).version == 4 and grant["created_at"].endswith("Z")
    fetched = await admin.get(f"{TRUST}/{grant['id']}")
    assert fetched.status_code == 200 and fetched.json() == grant
    # the admin port adds /admin when it is missing, as for every admin route
    assert (await admin.get(f"/trust/grants/jwt-bearer/issuers/{grant['id']}")).json() == grant

    response = await exchange(public, exchanger, issuer.sign(token_url), scope="api")
    assert response.status_code == 200, response.text
    tokens = response.json()
    assert set(tokens) == {"access_token", "expires_in", "scope", "token_type"}  # no refresh or ID token
    assert tokens["access_token"].startswith("ory_at_") and tokens["scope"] == "api"
    assert tokens["expires_in"] == 3600 and tokens["token_type"] == "bearer"
    introspected = (await admin.post("/admin/oauth2/introspect", data={"token": tokens["access_token"]})).json()
    assert introspected["active"] is True and introspected["sub"] == "alice"
    assert introspected["client_id"] == exchanger["client_id"] and introspected["scope"] == "api"
    assert introspected.get("aud", []) == []  # omit_assertion_audience defaults to true

    # a subject the relationship does not name is refused
    other = await exchange(public, exchanger, issuer.sign(token_url, sub="mallory"))
    assert_oauth_error(other, 400, "invalid_grant", f"No public JWK was registered for issuer '{issuer.url}' and "
                       "subject 'mallory', and public key is required to check signature of JWT in 'assertion' "
                       "request parameter.")

    assert (await admin.delete(f"{TRUST}/{grant['id']}")).status_code == 204
    gone = await exchange(public, exchanger, issuer.sign(token_url), scope="api")
    assert_oauth_error(gone, 400, "invalid_grant", "No public JWK was registered for issuer")
    assert (await admin.get(f"{TRUST}/{grant['id']}")).status_code == 404
    assert (await admin.delete(f"{TRUST}/{grant['id']}")).status_code == 404


async def test_allow_any_subject_and_keys_found_without_kid(admin, public, exchanger, token_url):
    issuer = Issuer("RSA")
    created = await admin.post(TRUST, json=issuer.trust(allow_any_subject=True, scope=["api"]))
    assert created.status_code == 201, created.text
    assert created.json()["subject"] == "" and created.json()["allow_any_subject"] is True
    for subject in ("bob", "carol"):
        # no kid in the header: every live key of the issuer is tried
        response = await exchange(public, exchanger, issuer.sign(token_url, sub=subject, header={"kid": None}))
        assert response.status_code == 200, response.text
        introspected = (await admin.post("/admin/oauth2/introspect",
                                         data={"token": response.json()["access_token"]})).json()
        assert introspected["sub"] == subject and introspected.get("scope", "") == ""


async def test_the_client_must_authenticate_and_hold_the_grant(public, make_client, admin, token_url):
    issuer = Issuer()
    assert (await admin.post(TRUST, json=issuer.trust(subject="alice"))).status_code == 201
    plain = await make_client(grant_types=["client_credentials"])
    refused = await exchange(public, plain, issuer.sign(token_url))
    assert_oauth_error(refused, 400, "unauthorized_client", GRANT + "'.")
    anonymous = await public.post("/oauth2/token", data={"grant_type": GRANT, "assertion": issuer.sign(token_url)})
    assert_oauth_error(anonymous, 401, "invalid_client")
    allowed = await make_client(grant_types=[GRANT])
    missing = await public.post("/oauth2/token", data={"grant_type": GRANT},
                                headers=basic(allowed["client_id"], allowed["client_secret"]))
    assert_oauth_error(missing, 400, "invalid_request",
                       f"The assertion request parameter must be set when using grant_type of '{GRANT}'.")


@pytest.fixture
async def trusted(admin) -> tuple[Issuer, dict[str, Any]]:
    issuer = Issuer()
    created = await admin.post(TRUST, json=issuer.trust(subject="alice"))
    assert created.status_code == 201, created.text
    return issuer, created.json()


IN = "in 'assertion' request parameter"


def unsigned(token: str) -> str:
    """The same claims under {"alg": "none"} with the kid kept, and no signature."""
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    none = base64.urlsafe_b64encode(json.dumps({**header, "alg": "none"}).encode()).rstrip(b"=").decode()
    return f"{none}.{token.split('.')[1]}."
Bad = Callable[[Issuer, str], str]
BAD_ASSERTIONS: dict[str, tuple[Bad, str, str]] = {
    "wrong signature": (lambda i, aud: i.sign(aud, key=ECKey.generate_key("P-256", private=True)), "invalid_grant",
                        "Unable to verify the integrity of the 'assertion' value."),
    "wrong audience": (lambda i, aud: i.sign("https://elsewhere.example/oauth2/token"), "invalid_grant",
                       "that identifies the authorization server as an intended audience."),
    "no audience": (lambda i, aud: i.sign(aud, drop=("aud",)), "invalid_grant",
                    f"The JWT {IN} MUST contain an 'aud' (audience) claim."),
    "expired": (lambda i, aud: i.sign(aud, exp=int(time.time()) - 5, iat=int(time.time()) - 60), "invalid_grant",
                f"The JWT {IN} expired."),
    "no exp": (lambda i, aud: i.sign(aud, drop=("exp",)), "invalid_grant",
               f"The JWT {IN} MUST contain an 'exp' (expiration time) claim."),
    "not yet valid": (lambda i, aud: i.sign(aud, nbf=int(time.time()) + 120), "invalid_grant",
                      "before which the token MUST NOT be accepted."),
    "no jti": (lambda i, aud: i.sign(aud, drop=("jti",)), "invalid_grant",
               f"The JWT {IN} MUST contain an 'jti' (JWT ID) claim."),
    "no iat": (lambda i, aud: i.sign(aud, drop=("iat",)), "invalid_grant",
               f"The JWT {IN} MUST contain an 'iat' (issued at) claim."),
    "exp beyond max_ttl": (lambda i, aud: i.sign(aud, exp=int(time.time()) + 800 * 3600), "invalid_grant",
                           "that is unreasonably far in the future, considering token issued at"),
    "no iss": (lambda i, aud: i.sign(aud, drop=("iss",)), "invalid_grant",
               f"The JWT {IN} MUST contain an 'iss' (issuer) claim."),
    "no sub": (lambda i, aud: i.sign(aud, drop=("sub",)), "invalid_grant",
               f"The JWT {IN} MUST contain a 'sub' (subject) claim."),
    "claims of the wrong type": (lambda i, aud: i.sign(aud, exp="soon"), "invalid_grant",
                                 f"Looks like there are no claims in JWT {IN}."),
    "unknown kid": (lambda i, aud: i.sign(aud, header={"kid": "not-the-kid"}), "invalid_grant",
                    "and public key is required to check signature of JWT in 'assertion' request parameter."),
    "unknown issuer": (lambda i, aud: i.sign(aud, iss="https://unknown.example.com"), "invalid_grant",
                       "No public JWK was registered for issuer 'https://unknown.example.com' and subject 'alice'"),
    "alg mismatch (HS256 with the key's kid)": (
        lambda i, aud: i.sign(aud, header={"alg": "HS256"}, key=OctKey.import_key("s" * 32)), "invalid_grant",
        "Unable to verify the integrity of the 'assertion' value."),
    "alg mismatch (ES384 for an ES256 key)": (
        lambda i, aud: i.sign(aud, header={"alg": "ES384"}, key=ECKey.generate_key("P-384", private=True)),
        "invalid_grant", "Unable to verify the integrity of the 'assertion' value."),
    "alg none": (lambda i, aud: unsigned(i.sign(aud)), "invalid_grant",
                 "Unable to verify the integrity of the 'assertion' value."),
    "malformed": (lambda i, aud: "not-a-jwt", "invalid_grant",
                  "Unable to parse JSON Web Token passed in 'assertion' request parameter."),
    "three garbage parts": (lambda i, aud: "a.b.c", "invalid_grant",
                            "Unable to parse JSON Web Token passed in 'assertion' request parameter."),
    "1 MB assertion": (lambda i, aud: "e" * 1_000_000, "invalid_grant",
                       "Unable to parse JSON Web Token passed in 'assertion' request parameter."),
    "1 MB assertion that looks like a JWT": (lambda i, aud: i.sign(aud, pad="x" * 700_000), "invalid_grant",
                                             "Unable to parse JSON Web Token passed in 'assertion' request "
                                             "parameter."),
}


@pytest.mark.parametrize("case", list(BAD_ASSERTIONS))
async def test_bad_assertions_are_refused(public, exchanger, trusted, token_url, case):
    issuer, _ = trusted
    build, error, hint = BAD_ASSERTIONS[case]
    response = await exchange(public, exchanger, build(issuer, token_url))
    assert_oauth_error(response, 400, error, hint)
    assert response.json()["error_description"].startswith(INVALID_GRANT)
    # the relationship itself still works: the refusal was about the assertion
    assert (await exchange(public, exchanger, issuer.sign(token_url))).status_code == 200


async def test_replayed_jti_expired_trust_and_scope_outside_the_trust(admin, public, exchanger, trusted, token_url):
    issuer, _ = trusted
    assertion = issuer.sign(token_url)
    first, again = [await exchange(public, exchanger, assertion) for _ in range(2)]
    assert first.status_code == 200, first.text
    assert_oauth_error(again, 400, "jti_known")
    assert again.json()["error_description"] == "The jti was already used."
    # two at once: exactly one wins
    racing = issuer.sign(token_url)
    results = await asyncio.gather(*(exchange(public, exchanger, racing) for _ in range(5)))
    assert sorted(r.status_code for r in results) == [200, 400, 400, 400, 400]

    outside = await exchange(public, exchanger, issuer.sign(token_url), scope="api admin")
    assert_oauth_error(outside, 400, "invalid_scope", f"The public key registered for issuer '{issuer.url}' and "
                       "subject 'alice' is not allowed to request scope 'admin'.")
    # a refused scope does not spend the jti (fosite marks it used only after the scope check)
    retried = issuer.sign(token_url, jti="kept-" + uuid.uuid4().hex)
    assert (await exchange(public, exchanger, retried, scope="admin")).status_code == 400
    # the relationship's scopes count, not the client's (the client has only "api"), as in Hydra
    assert (await exchange(public, exchanger, retried, scope="read")).status_code == 200

    stale = Issuer()
    created = await admin.post(TRUST, json=stale.trust(subject="alice", expires_at=later(-60)))
    assert created.status_code == 201, created.text  # Hydra accepts an expiry in the past
    for header in ({}, {"kid": None}):  # Hydra checks the expiry only without kid; hydralite always
        expired = await exchange(public, exchanger, stale.sign(token_url, header=header))
        assert_oauth_error(expired, 400, "invalid_grant", "No public JWK was registered for issuer")


async def test_requested_audience_is_kept_only_when_the_client_may_use_it(admin, public, make_client, trusted,
                                                                          token_url):
    issuer, _ = trusted
    client = await make_client(grant_types=[GRANT], scope="api", audience=["https://api.example.com"])
    response = await exchange(public, client, issuer.sign(token_url), audience="https://api.example.com/v1 "
                              "https://other.example.com")
    assert response.status_code == 200, response.text
    introspected = (await admin.post("/admin/oauth2/introspect",
                                     data={"token": response.json()["access_token"]})).json()
    assert introspected["aud"] == ["https://api.example.com/v1"]


async def test_admin_create_validation_conflict_and_pagination(server, admin):
    issuer = Issuer()
    body = issuer.trust(subject="alice")
    assert (await admin.post(TRUST, json=body)).status_code == 201
    duplicate = await admin.post(TRUST, json=body)
    assert duplicate.status_code == 409 and duplicate.json()["error"].startswith("Unable to insert or update")
    # the same key for another subject is another relationship
    assert (await admin.post(TRUST, json={**body, "subject": "bob"})).status_code == 201
    private = {**issuer.key.as_dict(private=True), "kid": "private-" + issuer.kid}
    stored = await admin.post(TRUST, json={**body, "jwk": private})
    assert stored.status_code == 201, stored.text  # accepted as Hydra does; only the public part is kept
    conn = await asyncpg.connect(server.dsn)
    try:
        kept = await conn.fetchval("SELECT jwk FROM hydralite_trust WHERE id = $1", uuid.UUID(stored.json()["id"]))
    finally:
        await conn.close()
    assert '"d"' not in kept and json.loads(kept)["x"] == private["x"]
    both = await admin.post(TRUST, json={**body, "allow_any_subject": True})
    assert both.status_code == 400 and both.json() == {
        "error": "missing_required_parameter",
        "error_description": f"{MISSING} Both 'subject' and 'allow_any_subject' fields cannot be set at the same "
                             "time."}

    listed = await admin.get(TRUST, params={"issuer": issuer.url, "page_size": "2"})
    assert listed.status_code == 200, listed.text
    first_page = listed.json()
    assert len(first_page) == 2 and all(g["issuer"] == issuer.url for g in first_page)
    links = listed.headers["link"]
    assert 'rel="first"' in links and 'rel="next"' in links
    next_url = links.split(",")[1].split(";")[0].strip("<> ")
    assert "issuer=" in next_url and "page_size=2" in next_url
    second = await admin.get(next_url)
    assert second.status_code == 200 and len(second.json()) == 1
    assert 'rel="next"' not in second.headers["link"]
    ids = [g["id"] for g in first_page + second.json()]
    assert ids == sorted(ids) and len(set(ids)) == 3
    everything = await admin.get(TRUST, params={"issuer": issuer.url})
    assert [g["id"] for g in everything.json()] == ids
    nobody = await admin.get(TRUST, params={"issuer": "https://nobody.example.com"})
    assert nobody.status_code == 200 and nobody.json() == []


async def test_janitor_deletes_expired_trust_relationships_and_jtis(server, admin):
    issuer = Issuer()
    expired = (await admin.post(TRUST, json=issuer.trust(subject="old", expires_at=later(-60)))).json()
    live = (await admin.post(TRUST, json=issuer.trust(subject="new"))).json()
    conn = await asyncpg.connect(server.dsn)
    try:
        await conn.execute("INSERT INTO hydralite_jti (signature, expires_at) VALUES ($1, now() - interval '1 hour')",
                           "janitor-" + uuid.uuid4().hex)
        env = {k: v for k, v in os.environ.items() if k != "DSN"}
        result = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "hydralite", "janitor", server.dsn],
                                         capture_output=True, text=True, timeout=60, env=env)
        assert result.returncode == 0, result.stderr
        assert "expired trust relationships" in result.stderr and "expired JWT ids" in result.stderr
        assert await conn.fetchval("SELECT count(*) FROM hydralite_jti WHERE expires_at < now()") == 0
    finally:
        await conn.close()
    assert (await admin.get(f"{TRUST}/{expired['id']}")).status_code == 404
    assert (await admin.get(f"{TRUST}/{live['id']}")).status_code == 200


@pytest.fixture(scope="module")
async def relaxed(postgres, template_db) -> AsyncIterator[Any]:
    """A server with Hydra's oauth2.grant.jwt.* relaxed: jti and iat optional, 1h max_ttl, audience copied."""
    dsn = await postgres.create_database(template_db)
    with run_server(dsn, OAUTH2_GRANT_JWT_JTI_OPTIONAL="true", OAUTH2_GRANT_JWT_IAT_OPTIONAL="true",
                    OAUTH2_GRANT_JWT_MAX_TTL="1h", OAUTH2_GRANT_JWT_OMIT_ASSERTION_AUDIENCE="false") as srv:
        yield srv


async def test_grant_jwt_settings(relaxed):
    token_url = f"{relaxed.public_url}/oauth2/token"
    async with httpx.AsyncClient(base_url=relaxed.admin_url, timeout=30) as admin, \
            httpx.AsyncClient(base_url=relaxed.public_url, timeout=30) as public:
        client = (await admin.post("/admin/clients", json={"grant_types": [GRANT], "scope": "api",
                                                           "client_secret": "a-good-secret"})).json()
        issuer = Issuer()
        assert (await admin.post(TRUST, json=issuer.trust(subject="alice"))).status_code == 201
        bare = issuer.sign(token_url, drop=("jti", "iat"))
        for _ in range(2):  # without a jti there is nothing to replay-check
            response = await exchange(public, client, bare)
            assert response.status_code == 200, response.text
        introspected = (await admin.post("/admin/oauth2/introspect",
                                         data={"token": response.json()["access_token"]})).json()
        assert introspected["aud"] == [token_url]  # omit_assertion_audience: false copies the assertion's aud
        too_long = await exchange(public, client, issuer.sign(token_url, exp=int(time.time()) + 2 * 3600))
        assert_oauth_error(too_long, 400, "invalid_grant", "that is unreasonably far in the future, considering "
                           "token issued at", )
        lifespans = await admin.put(f"/admin/clients/{client['client_id']}/lifespans",
                                    json={"jwt_bearer_grant_access_token_lifespan": "10m"})
        assert lifespans.status_code == 200, lifespans.text
        short = await exchange(public, client, issuer.sign(token_url))
        assert short.status_code == 200 and short.json()["expires_in"] == 600


async def test_a_jwt_strategy_client_gets_a_signed_access_token(admin, public, make_client, trusted, token_url):
    """Hydra's token handler applies the client's access token strategy to this grant too."""
    from joserfc.jwk import KeySet

    issuer, _ = trusted
    client = await make_client(grant_types=[GRANT], scope="api", access_token_strategy="jwt")
    response = await exchange(public, client, issuer.sign(token_url), scope="api")
    assert response.status_code == 200, response.text
    access_token = response.json()["access_token"]
    jwks = KeySet.import_key_set((await public.get("/.well-known/jwks.json")).json())
    claims = jwt.decode(access_token, jwks).claims
    assert claims["sub"] == "alice" and claims["client_id"] == client["client_id"] and claims["scp"] == ["api"]
    introspected = (await admin.post("/admin/oauth2/introspect", data={"token": access_token})).json()
    assert introspected["active"] is True and introspected["sub"] == "alice"
