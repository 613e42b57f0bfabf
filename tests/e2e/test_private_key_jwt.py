"""private_key_jwt client authentication (RFC 7523 §2.2, OIDC Core §9; issue 10 item 2, SECURITY.md A9, A29, S5).

Clients with an inline JWKS and with a `jwks_uri` served by a small HTTP server in this module (127.0.0.1) get
tokens with client_credentials and revoke them with assertion authentication; every bad assertion is a 4xx
`invalid_client` (never a 500); a jti is single use even across two server processes on one database; the
jwks_uri answer is cached (hits counted on the test server) and refetched once for a new kid.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, OctKey, RSAKey

from tests.conftest import basic, free_port, run_server
from tests.e2e.documents import DocumentServer, serving
from tests.e2e.test_command_line import cli

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


class KeyServer(DocumentServer):
    """Serves JWK sets by path and counts the requests per path."""

    def __init__(self) -> None:
        super().__init__("application/json")

    def publish_keys(self, keys: list[dict[str, Any]]) -> str:
        """A new path serving `{"keys": keys}`; returns its URL."""
        return super().publish(json.dumps({"keys": keys}).encode(), "/jwks")

    def set(self, path: str, keys: list[dict[str, Any]]) -> None:
        self.documents[path] = json.dumps({"keys": keys}).encode()


@pytest.fixture(scope="module")
def keyserver() -> Iterator[KeyServer]:
    with serving(KeyServer()) as ks:
        yield ks


@pytest.fixture(scope="module")
def rsa() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "rsa-1", "use": "sig", "alg": "RS256"}, private=True)


@pytest.fixture(scope="module")
def ec() -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": "ec-1", "use": "sig", "alg": "ES256"}, private=True)


def public_jwk(key: Any) -> dict[str, Any]:
    return key.as_dict(private=False)


def sign(key: Any, claims: dict[str, Any], *, alg: str = "RS256", kid: str | None = None) -> str:
    header = {"alg": alg, "typ": "JWT", "kid": kid if kid is not None else key.kid}
    return jwt.encode(header, claims, key, algorithms=[alg])


def claims_for(client_id: str, aud: Any, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {"iss": client_id, "sub": client_id, "aud": aud, "jti": uuid.uuid4().hex, "iat": now, "exp": now + 300}
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def unsigned(claims: dict[str, Any], header: dict[str, Any]) -> str:
    part = lambda d: base64.urlsafe_b64encode(json.dumps(d).encode()).rstrip(b"=").decode()  # noqa: E731
    return f"{part(header)}.{part(claims)}."


async def post(http: httpx.AsyncClient, path: str, assertion: str, *, headers: dict[str, str] | None = None,
               **form: str) -> httpx.Response:
    data = {"client_assertion_type": JWT_BEARER, "client_assertion": assertion, **form}
    return await http.post(path, data=data, headers=headers or {})


async def token(http: httpx.AsyncClient, assertion: str, **form: str) -> httpx.Response:
    return await post(http, "/oauth2/token", assertion, grant_type="client_credentials", **form)


def refused(response: httpx.Response, hint: str = "") -> str:
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error"] == "invalid_client", body
    assert response.headers["www-authenticate"].startswith("Basic")
    assert hint in body["error_description"], body
    return body["error_description"]


def bad_request(response: httpx.Response, hint: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request" and hint in response.json()["error_description"]


@pytest.fixture
def aud(server) -> str:
    return f"{server.public_url}/oauth2/token"


@pytest.fixture
async def pkj_client(admin, rsa, ec):
    """A private_key_jwt client (RS256, the default alg) with an inline JWKS holding an RSA and an EC key."""
    r = await admin.post("/admin/clients", json={
        "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [public_jwk(rsa), public_jwk(ec)]},
        "grant_types": ["client_credentials"], "scope": "api"})
    assert r.status_code == 201, r.text
    return r.json()


async def test_inline_jwks_token_and_revocation(public, admin, pkj_client, rsa, aud):
    cid = pkj_client["client_id"]
    r = await token(public, sign(rsa, claims_for(cid, aud)), scope="api")
    assert r.status_code == 200, r.text
    access = r.json()["access_token"]
    # client_id in the body is optional; when sent it must name the same client; aud may be a list
    r = await token(public, sign(rsa, claims_for(cid, ["https://elsewhere.example", aud])), client_id=cid)
    assert r.status_code == 200, r.text
    info = (await admin.post("/admin/oauth2/introspect", data={"token": access})).json()
    assert info["active"] is True and info["client_id"] == cid
    revoked = await post(public, "/oauth2/revoke", sign(rsa, claims_for(cid, aud)), token=access)
    assert revoked.status_code == 200, revoked.text
    assert (await admin.post("/admin/oauth2/introspect", data={"token": access})).json() == {"active": False}


async def test_es256_client_over_jwks_uri(public, admin, keyserver, ec, aud):
    url = keyserver.publish_keys([public_jwk(ec)])
    r = await admin.post("/admin/clients", json={
        "token_endpoint_auth_method": "private_key_jwt", "jwks_uri": url, "token_endpoint_auth_signing_alg": "ES256",
        "grant_types": ["client_credentials"]})
    assert r.status_code == 201, r.text
    cid = r.json()["client_id"]
    assert (await token(public, sign(ec, claims_for(cid, aud), alg="ES256"))).status_code == 200
    p384 = ECKey.generate_key("P-384", parameters={"kid": "ec-1"}, private=True)
    refused(await token(public, sign(p384, claims_for(cid, aud), alg="ES384")),
            "uses signing algorithm 'ES384' but the requested OAuth 2.0 Client enforces signing algorithm 'ES256'")


async def test_jwks_uri_is_cached_and_refetched_once_for_a_new_kid(public, admin, keyserver, rsa, aud):
    url = keyserver.publish_keys([public_jwk(rsa)])
    r = await admin.post("/admin/clients", json={"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": url,
                                                 "grant_types": ["client_credentials"]})
    cid = r.json()["client_id"]
    assert keyserver.count(url) == 0  # nothing is fetched at registration
    assert (await token(public, sign(rsa, claims_for(cid, aud)))).status_code == 200
    assert (await token(public, sign(rsa, claims_for(cid, aud)))).status_code == 200
    assert keyserver.count(url) == 1
    rotated = RSAKey.generate_key(2048, parameters={"kid": "rsa-2", "use": "sig"}, private=True)
    keyserver.set(url.removeprefix(keyserver.base), [public_jwk(rsa), public_jwk(rotated)])
    assert (await token(public, sign(rotated, claims_for(cid, aud)))).status_code == 200
    assert keyserver.count(url) == 2
    assert (await token(public, sign(rotated, claims_for(cid, aud)))).status_code == 200
    assert (await token(public, sign(rsa, claims_for(cid, aud)))).status_code == 200
    assert keyserver.count(url) == 2


async def test_unknown_kids_refetch_at_most_once(public, admin, keyserver, rsa, aud):
    url = keyserver.publish_keys([public_jwk(rsa)])
    r = await admin.post("/admin/clients", json={"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": url,
                                                 "grant_types": ["client_credentials"]})
    cid = r.json()["client_id"]
    refused(await token(public, sign(rsa, claims_for(cid, aud), kid="nope-1")),
            "The JSON Web Token uses signing key with kid 'nope-1', which could not be found.")
    assert keyserver.count(url) == 1  # just fetched: not fetched again for the unknown kid
    for kid in ("nope-2", "nope-3", "nope-4"):
        refused(await token(public, sign(rsa, claims_for(cid, aud), kid=kid)), f"kid '{kid}'")
    assert keyserver.count(url) == 2  # one forced refetch, then the interval holds the rest back


def _bad_cases(cid: str, aud: str, rsa: RSAKey, ec: ECKey) -> dict[str, tuple[str, str]]:
    other = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"}, private=True)
    now = int(time.time())
    hs = OctKey.import_key("a-shared-secret-of-enough-length-0123456789")
    integrity = "Unable to verify the integrity of the 'client_assertion' value."
    claims_hint = "claims could not be validated"
    return {
        "wrong signature": (sign(other, claims_for(cid, aud)), integrity),
        "tampered payload": (sign(rsa, claims_for(cid, aud))[:-8] + "AAAAAAAA", integrity),
        "wrong audience": (sign(rsa, claims_for(cid, "https://other.example/oauth2/token")),
                           "Claim 'audience' from 'client_assertion' must match"),
        "no audience": (sign(rsa, claims_for(cid, None)), "Claim 'audience'"),
        "expired": (sign(rsa, claims_for(cid, aud, iat=now - 600, exp=now - 60)), claims_hint),
        "no exp": (sign(rsa, claims_for(cid, aud, exp=None)), claims_hint),
        "exp not a number": (sign(rsa, claims_for(cid, aud, exp=str(now + 60))), claims_hint),
        "exp too far": (sign(rsa, claims_for(cid, aud, exp=now + 48 * 3600)), "too far in the future"),
        "nbf in the future": (sign(rsa, claims_for(cid, aud, nbf=now + 3600)), claims_hint),
        "iat in the future": (sign(rsa, claims_for(cid, aud, iat=now + 3600, exp=now + 3900)), claims_hint),
        "no jti": (sign(rsa, claims_for(cid, aud, jti=None)), "Claim 'jti' from 'client_assertion' must be set"),
        "empty jti": (sign(rsa, claims_for(cid, aud, jti="")), "Claim 'jti'"),
        "iss not the client": (sign(rsa, claims_for(cid, aud, iss="someone-else")), "Claim 'iss'"),
        "sub not the client": (sign(rsa, {**claims_for(cid, aud), "sub": "someone-else"}), "Claim 'sub'"),
        "unknown kid": (sign(rsa, claims_for(cid, aud), kid="not-there"), "kid 'not-there', which could not be found"),
        "alg mismatch": (sign(ec, claims_for(cid, aud), alg="ES256"),
                         "uses signing algorithm 'ES256' but the requested OAuth 2.0 Client enforces signing "
                         "algorithm 'RS256'"),
        "alg none": (unsigned(claims_for(cid, aud), {"alg": "none", "kid": "rsa-1"}), "signing algorithm 'none'"),
        "HS256": (jwt.encode({"alg": "HS256", "kid": "rsa-1"}, claims_for(cid, aud), hs, algorithms=["HS256"]),
                  "signing algorithm 'HS256'"),
        "malformed": ("not-a-jwt", ""),
        "two parts": ("eyJhbGciOiJSUzI1NiJ9.e30", ""),
        "header not json": ("bm90IGpzb24.e30.c2ln", integrity),
        "payload a list": (unsigned([1], {"alg": "RS256"}) + "c2ln", integrity),
    }


async def test_every_bad_assertion_is_invalid_client(public, pkj_client, rsa, ec, aud):
    cid = pkj_client["client_id"]
    for name, (assertion, hint) in _bad_cases(cid, aud, rsa, ec).items():
        r = await token(public, assertion, client_id=cid)
        assert r.status_code == 401, (name, r.text)
        refused(r, hint)
    # the same defects without client_id in the body (the client is then found through `sub`)
    r = await token(public, sign(rsa, claims_for(cid, aud, exp=int(time.time()) - 5)))
    refused(r, "claims could not be validated")
    refused(await token(public, unsigned({"iss": cid}, {"alg": "RS256"})),
            "The claim 'sub' from the client_assertion JSON Web Token is undefined.")
    # none of it spent anything: a good assertion still works
    assert (await token(public, sign(rsa, claims_for(cid, aud)))).status_code == 200


async def test_a_one_megabyte_assertion_is_refused_early(public, pkj_client):
    r = await token(public, "a" * 1_000_000, client_id=pkj_client["client_id"])
    assert 400 <= r.status_code < 500, r.text
    if r.status_code == 401:
        refused(r, "must not be longer than")


async def test_replayed_jti_is_refused(public, pkj_client, rsa, aud):
    assertion = sign(rsa, claims_for(pkj_client["client_id"], aud))
    assert (await token(public, assertion)).status_code == 200
    refused(await token(public, assertion), "Claim 'jti' from 'client_assertion' MUST only be used once.")
    # revocation shares the jti space with the token endpoint
    refused(await post(public, "/oauth2/revoke", assertion, token="x"), "MUST only be used once")


async def test_one_assertion_in_concurrent_requests_wins_once(public, pkj_client, rsa, aud):
    assertion = sign(rsa, claims_for(pkj_client["client_id"], aud))
    answers = await asyncio.gather(*(token(public, assertion) for _ in range(12)))
    assert sorted(r.status_code for r in answers) == [200] + [401] * 11


@pytest.fixture(scope="module")
async def second_server(server):
    """Another server process on the same database (another worker, as far as the jti store can tell)."""
    with run_server(server.dsn) as srv:
        yield srv


async def test_replay_across_two_server_processes(public, second_server, pkj_client, rsa, aud):
    other_aud = f"{second_server.public_url}/oauth2/token"
    cid = pkj_client["client_id"]
    async with httpx.AsyncClient(base_url=second_server.public_url, timeout=30) as other:
        first = sign(rsa, claims_for(cid, [aud, other_aud]))
        assert (await token(public, first)).status_code == 200
        refused(await token(other, first), "MUST only be used once")
        second = sign(rsa, claims_for(cid, [aud, other_aud]))
        assert (await token(other, second)).status_code == 200
        refused(await token(public, second), "MUST only be used once")


async def test_jwks_uri_failures_are_invalid_client(public, admin, keyserver, rsa, aud):
    big = "/big-" + uuid.uuid4().hex
    keyserver.documents[big] = json.dumps({"keys": [public_jwk(rsa)] * 400, "pad": "x" * 300_000}).encode()
    keyserver.documents["/not-json"] = b"<html>hello</html>"
    urls = {"unreachable": f"http://127.0.0.1:{free_port()}/jwks", "oversized": keyserver.base + big,
            "404": keyserver.base + "/missing-" + uuid.uuid4().hex, "not json": keyserver.base + "/not-json",
            "metadata address": "http://169.254.169.254/latest/jwks"}
    for name, url in urls.items():
        r = await admin.post("/admin/clients", json={"token_endpoint_auth_method": "private_key_jwt",
                                                     "jwks_uri": url, "grant_types": ["client_credentials"]})
        assert r.status_code == 201, r.text
        cid = r.json()["client_id"]
        answer = await token(public, sign(rsa, claims_for(cid, aud)))
        assert answer.status_code == 401, (name, answer.text)
        refused(answer, "Unable to fetch JSON Web Keys from the client's 'jwks_uri'.")
    assert keyserver.count(keyserver.base + big) == 1


async def test_auth_method_mismatches(public, admin, make_client, pkj_client, rsa, aud):
    cid = pkj_client["client_id"]
    # a private_key_jwt client that sends a secret (Basic or body) is refused
    refused(await public.post("/oauth2/token", data={"grant_type": "client_credentials"},
                              headers=basic(cid, pkj_client["client_secret"])),
            "supports client authentication method 'private_key_jwt', but method 'client_secret_basic'")
    refused(await public.post("/oauth2/token", data={"grant_type": "client_credentials", "client_id": cid,
                                                     "client_secret": pkj_client["client_secret"]}),
            "'private_key_jwt', but method 'client_secret_post'")
    refused(await public.post("/oauth2/token", data={"grant_type": "client_credentials", "client_id": cid}),
            "must authenticate")
    # a secret client, or a public one, sending an assertion is refused
    secret_client = await make_client()
    refused(await token(public, sign(rsa, claims_for(secret_client["client_id"], aud))),
            "only supports client authentication method 'client_secret_basic', however 'client_assertion'")
    public_client = await make_client(token_endpoint_auth_method="none", client_secret=None)
    refused(await token(public, sign(rsa, claims_for(public_client["client_id"], aud))),
            "does not support client authentication")
    # client_secret_jwt: registered as in Hydra, refused at authentication as fosite does
    r = await admin.post("/admin/clients", json={"token_endpoint_auth_method": "client_secret_jwt",
                                                 "grant_types": ["client_credentials"]})
    assert r.status_code == 201, r.text
    csj = r.json()
    hs = OctKey.import_key(csj["client_secret"])
    refused(await token(public, jwt.encode({"alg": "HS256"}, claims_for(csj["client_id"], aud), hs,
                                           algorithms=["HS256"])),
            "only supports client authentication method 'client_secret_jwt', however that method is not supported")
    # an assertion for a client that does not exist
    refused(await token(public, sign(rsa, claims_for("no-such-client-" + uuid.uuid4().hex, aud))))


async def test_deleted_client_makes_no_network_call(public, admin, keyserver, rsa, aud):
    url = keyserver.publish_keys([public_jwk(rsa)])
    r = await admin.post("/admin/clients", json={"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": url,
                                                 "grant_types": ["client_credentials"]})
    cid = r.json()["client_id"]
    assert (await admin.delete(f"/admin/clients/{cid}")).status_code == 204
    refused(await token(public, sign(rsa, claims_for(cid, aud))))
    refused(await token(public, sign(rsa, claims_for(cid, aud)), client_id=cid))
    assert keyserver.count(url) == 0


async def test_parameter_errors(public, pkj_client, rsa, aud):
    cid = pkj_client["client_id"]
    good = sign(rsa, claims_for(cid, aud))
    bad_request(await public.post("/oauth2/token", data={"grant_type": "client_credentials",
                                                         "client_assertion_type": JWT_BEARER}),
                "The client_assertion request parameter must be set")
    bad_request(await public.post("/oauth2/token", data={"grant_type": "client_credentials", "client_assertion": good}),
                "client_assertion_type request parameter must be set")
    bad_request(await public.post("/oauth2/token", data={"grant_type": "client_credentials", "client_assertion": good,
                                                         "client_assertion_type": "urn:example:saml"}),
                "Unknown client_assertion_type 'urn:example:saml'.")
    # one method per request: an assertion beside a secret is refused before anything is spent
    bad_request(await token(public, good, client_secret=pkj_client["client_secret"]), "not both")
    bad_request(await token(public, good, headers=basic(cid, pkj_client["client_secret"])), "not both")
    bad_request(await public.post("/oauth2/token", headers=basic(cid, pkj_client["client_secret"]), data={
        "grant_type": "client_credentials", "client_assertion_type": JWT_BEARER, "client_assertion": good}), "not both")
    # a client_id in the body that is not the assertion's issuer
    other = await public.post("/oauth2/token", data={"grant_type": "client_credentials", "client_id": "nobody-here",
                                                     "client_assertion_type": JWT_BEARER, "client_assertion": good})
    refused(other)
    assert (await token(public, good)).status_code == 200


async def test_private_key_jwt_client_from_the_cli(server, public, keyserver, rsa, ec, aud):
    """`create|update oauth2-client --token-endpoint-auth-method private_key_jwt --jwks-uri …` (Hydra's flags)."""
    url = keyserver.publish_keys([public_jwk(rsa)])
    admin = ["-e", server.admin_url]
    created = json.loads((await cli("create", "oauth2-client", "--token-endpoint-auth-method", "private_key_jwt",
                                    "--jwks-uri", url, "--grant-type", "client_credentials", "--scope", "api",
                                    "--format", "json", *admin)).stdout)
    assert created["token_endpoint_auth_method"] == "private_key_jwt" and created["jwks_uri"] == url
    cid = created["client_id"]
    assert (await token(public, sign(rsa, claims_for(cid, aud)), scope="api")).status_code == 200

    rotated = RSAKey.generate_key(2048, parameters={"kid": "cli-2", "use": "sig"}, private=True)
    new_url = keyserver.publish_keys([public_jwk(rotated)])
    updated = json.loads((await cli("update", "oauth2-client", cid, "--jwks-uri", new_url, "--format", "json",
                                    *admin)).stdout)
    assert updated["jwks_uri"] == new_url and updated["token_endpoint_auth_method"] == "private_key_jwt"
    assert (await token(public, sign(rotated, claims_for(cid, aud)))).status_code == 200
    refused(await token(public, sign(rsa, claims_for(cid, aud))), "kid 'rsa-1'")

    # --token-endpoint-auth-signing-alg is a hydralite extra (Hydra's CLI sets the field only through --file)
    es = json.loads((await cli("create", "oauth2-client", "--token-endpoint-auth-method", "private_key_jwt",
                               "--token-endpoint-auth-signing-alg", "ES256", "--jwks-uri", keyserver.publish_keys(
                                   [public_jwk(ec)]), "--grant-type", "client_credentials", "--format", "json",
                               *admin)).stdout)
    assert es["token_endpoint_auth_signing_alg"] == "ES256"
    assert (await token(public, sign(ec, claims_for(es["client_id"], aud), alg="ES256"))).status_code == 200

    missing = await cli("create", "oauth2-client", "--token-endpoint-auth-method", "private_key_jwt", *admin,
                        check=False)
    assert missing.returncode == 1 and missing.stdout == ""
    assert "either jwks or jwks_uri must be set" in missing.stderr and "Traceback" not in missing.stderr


async def test_device_authorization_endpoint_accepts_private_key_jwt(public, admin, rsa, aud):
    """RFC 8628 §3.1: the device endpoint authenticates clients as the token endpoint does, assertions included."""
    r = await admin.post("/admin/clients", json={
        "token_endpoint_auth_method": "private_key_jwt", "jwks": {"keys": [public_jwk(rsa)]},
        "grant_types": ["urn:ietf:params:oauth:grant-type:device_code"], "scope": "openid"})
    assert r.status_code == 201, r.text
    cid = r.json()["client_id"]
    ok = await post(public, "/oauth2/device/auth", sign(rsa, claims_for(cid, aud)), scope="openid")
    assert ok.status_code == 200, ok.text
    assert ok.json()["device_code"].startswith("ory_dc_")
    replay = sign(rsa, claims_for(cid, aud))
    assert (await post(public, "/oauth2/device/auth", replay)).status_code == 200
    refused(await post(public, "/oauth2/device/auth", replay), "only be used once")
