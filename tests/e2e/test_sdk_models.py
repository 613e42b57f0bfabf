"""Every ory-hydra-client 25.4.0 operation whose feature hydralite has, through the SDK's typed methods.

The typed methods deserialise each answer into the SDK's pydantic models, so a missing required field or a
value of the wrong type fails the call. The SDK is synchronous (urllib3); calls run in a worker thread.

Operations that belong to later issues of this wave join this module there:
- secret rotation has no operation in the 25.4.0 SDK (its endpoints are called over HTTP when they are built)
- OidcApi.create_verifiable_credential: hydralite has no OpenID4VCI /credentials endpoint (no issue plans one)
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import ory_hydra_client as hydra
import pytest
import urllib3
from ory_hydra_client.models import (
    AcceptOAuth2ConsentRequest,
    AcceptOAuth2ConsentRequestSession,
    AcceptOAuth2LoginRequest,
    CreateJsonWebKeySet,
    IntrospectedOAuth2Token,
    JsonPatch,
    JsonWebKey,
    JsonWebKeySet,
    OAuth2Client,
    OAuth2ClientTokenLifespans,
    OAuth2ConsentRequest,
    OAuth2ConsentSession,
    OAuth2LoginRequest,
    OAuth2LogoutRequest,
    OAuth2RedirectTo,
    OAuth2TokenExchange,
    OidcConfiguration,
    OidcUserInfo,
    RejectOAuth2Request,
)

from tests.conftest import run_server
from tests.e2e.browser import query

REDIRECT = "http://127.0.0.1:5559/callback"


def call(fn, *args, **kwargs):
    return asyncio.to_thread(fn, *args, **kwargs)


def api_client(host: str, **settings) -> hydra.ApiClient:
    config = hydra.Configuration(host=host, **settings)
    # Redirects are answers here (as a browser's first hop), not something for urllib3 to follow.
    config.retries = urllib3.Retry(total=0, redirect=0, raise_on_redirect=False)
    return hydra.ApiClient(config)


@pytest.fixture
def admin_api(server) -> Iterator[hydra.ApiClient]:
    with api_client(server.admin_url) as client:
        yield client


@pytest.fixture
def public_api(server) -> Iterator[hydra.ApiClient]:
    with api_client(server.public_url) as client:
        yield client


async def test_metadata_api(admin_api, public_api):
    for client in (admin_api, public_api):
        api = hydra.MetadataApi(client)
        assert (await call(api.is_alive)).status == "ok"
        assert (await call(api.is_ready)).status == "ok"
    version = await call(hydra.MetadataApi(admin_api).get_version)
    assert version.version


async def test_wellknown_and_discovery(public_api, server):
    keys = await call(hydra.WellknownApi(public_api).discover_json_web_keys)
    assert isinstance(keys, JsonWebKeySet) and keys.keys
    assert all(k.d is None and k.kid and k.alg for k in keys.keys)
    doc = await call(hydra.OidcApi(public_api).discover_oidc_configuration)
    assert isinstance(doc, OidcConfiguration) and doc.issuer == f"{server.public_url}/"
    assert doc.device_authorization_endpoint == f"{server.public_url}/oauth2/device/auth"
    assert doc.jwks_uri == f"{server.public_url}/.well-known/jwks.json"


async def test_jwk_api(admin_api):
    api = hydra.JwkApi(admin_api)
    name = f"sdk-models-{uuid.uuid4()}"
    made = await call(api.create_json_web_key_set, name, CreateJsonWebKeySet(alg="ES256", use="sig", kid="k1"))
    assert isinstance(made, JsonWebKeySet) and made.keys[0].kid == "k1" and made.keys[0].d
    got_set = await call(api.get_json_web_key_set, name)
    assert [k.kid for k in got_set.keys] == ["k1"] and got_set.keys[0].crv == "P-256"
    got_key = await call(api.get_json_web_key, name, "k1")
    assert isinstance(got_key, JsonWebKeySet) and got_key.keys[0].x == made.keys[0].x

    changed = made.keys[0].model_copy(update={"use": "enc"})
    put_key = await call(api.set_json_web_key, name, "k1", changed)
    assert isinstance(put_key, JsonWebKey) and put_key.use == "enc" and put_key.kid == "k1"

    other = (await call(api.create_json_web_key_set, f"{name}-src",
                        CreateJsonWebKeySet(alg="RS256", use="sig", kid="k2"))).keys[0]
    put_set = await call(api.set_json_web_key_set, name, JsonWebKeySet(keys=[other]))
    assert isinstance(put_set, JsonWebKeySet) and [k.kid for k in put_set.keys] == ["k2"]

    assert await call(api.delete_json_web_key, name, "k2") is None
    assert await call(api.delete_json_web_key_set, f"{name}-src") is None
    with pytest.raises(hydra.exceptions.NotFoundException):
        await call(api.get_json_web_key_set, f"{name}-src")


async def test_client_operations(admin_api):
    api = hydra.OAuth2Api(admin_api)
    name = f"sdk-models-{uuid.uuid4()}"
    created = await call(api.create_o_auth2_client, OAuth2Client(client_name=name))
    assert isinstance(created, OAuth2Client) and created.client_secret and created.registration_access_token
    assert created.redirect_uris is None and created.audience == [] and created.metadata == {}
    cid = created.client_id

    got = await call(api.get_o_auth2_client, cid)
    assert got.client_secret is None and got.redirect_uris == [] and got.jwks is not None
    listed = await call(api.list_o_auth2_clients, client_name=name)
    assert [c.client_id for c in listed] == [cid]

    replaced = await call(api.set_o_auth2_client, cid, OAuth2Client(client_name=name, scope="a b",
                                                                    contacts=["x@example.com"]))
    assert replaced.scope == "a b" and replaced.contacts == ["x@example.com"] and replaced.grant_types is None
    patched = await call(api.patch_o_auth2_client, cid, [JsonPatch(op="add", path="/owner", value="me")])
    assert patched.owner == "me" and patched.grant_types == []
    lifespans = await call(api.set_o_auth2_client_lifespans, cid, OAuth2ClientTokenLifespans(
        refresh_token_grant_refresh_token_lifespan="48h"))
    assert lifespans.refresh_token_grant_refresh_token_lifespan == "48h0m0s"

    assert await call(api.delete_o_auth2_client, cid) is None
    with pytest.raises(hydra.exceptions.NotFoundException):
        await call(api.get_o_auth2_client, cid)


async def _authorize(browser, client: dict, scope: str, **extra: str):
    """The browser's first hop: hydralite redirects to the login app with a login_challenge."""
    first = await browser.start(browser.auth_url(client, REDIRECT, scope, **extra))
    return query(first.headers["location"])["login_challenge"]


async def test_login_consent_tokens_and_sessions(admin_api, server, browser, make_client):
    oauth2 = hydra.OAuth2Api(admin_api)
    client = await make_client(grant_types=["authorization_code", "refresh_token"], redirect_uris=[REDIRECT],
                               response_types=["code"], scope="openid offline_access api")
    cid, secret, subject = client["client_id"], client["client_secret"], f"sdk-{uuid.uuid4()}"
    login_challenge = await _authorize(browser, client, "openid offline_access api", nonce="sdk-models-nonce")

    login = await call(oauth2.get_o_auth2_login_request, login_challenge)
    assert isinstance(login, OAuth2LoginRequest) and login.client.client_id == cid and login.skip is False
    accepted = await call(oauth2.accept_o_auth2_login_request, login_challenge,
                          AcceptOAuth2LoginRequest(subject=subject, remember=True, remember_for=300))
    assert isinstance(accepted, OAuth2RedirectTo)
    consent_challenge = query((await browser.get(accepted.redirect_to)).headers["location"])["consent_challenge"]
    consent = await call(oauth2.get_o_auth2_consent_request, consent_challenge)
    assert isinstance(consent, OAuth2ConsentRequest) and consent.subject == subject
    assert consent.requested_scope == ["openid", "offline_access", "api"]
    done = await call(oauth2.accept_o_auth2_consent_request, consent_challenge, AcceptOAuth2ConsentRequest(
        grant_scope=consent.requested_scope, remember=True,
        session=AcceptOAuth2ConsentRequestSession(id_token={"name": "SDK"}, access_token={"role": "r"})))
    back = await browser.get(done.redirect_to)
    code = query(back.headers["location"])["code"]

    with api_client(server.public_url, username=cid, password=secret) as as_client:
        public_oauth2 = hydra.OAuth2Api(as_client)
        # oauth2_token_exchange has no code_verifier parameter, so this flow runs without PKCE.
        tokens = await call(public_oauth2.oauth2_token_exchange, "authorization_code", code=code,
                            redirect_uri=REDIRECT)
        assert isinstance(tokens, OAuth2TokenExchange) and tokens.id_token and tokens.refresh_token
        assert tokens.token_type == "bearer" and tokens.expires_in == 3600

        with api_client(server.public_url, access_token=tokens.access_token) as as_user:
            info = await call(hydra.OidcApi(as_user).get_oidc_user_info)
        assert isinstance(info, OidcUserInfo) and info.sub == subject
        assert info.name == "SDK"  # the consent session's id_token claims

        introspected = await call(oauth2.introspect_o_auth2_token, tokens.access_token)
        assert isinstance(introspected, IntrospectedOAuth2Token) and introspected.active is True
        assert introspected.sub == subject and introspected.ext == {"role": "r"}
        assert await call(oauth2.delete_o_auth2_token, cid) is None  # every access token of the client
        assert (await call(oauth2.introspect_o_auth2_token, tokens.access_token)).active is False

        refreshed = await call(public_oauth2.oauth2_token_exchange, "refresh_token",
                               refresh_token=tokens.refresh_token)
        assert isinstance(refreshed, OAuth2TokenExchange) and refreshed.refresh_token != tokens.refresh_token
        assert await call(public_oauth2.revoke_o_auth2_token, refreshed.refresh_token) is None
    assert (await call(oauth2.introspect_o_auth2_token, refreshed.refresh_token)).active is False

    sessions = await call(oauth2.list_o_auth2_consent_sessions, subject)
    assert sessions and isinstance(sessions[0], OAuth2ConsentSession)
    assert sessions[0].consent_request.client.client_id == cid and sessions[0].remember is True

    logout_start = await browser.get(f"{server.public_url}/oauth2/sessions/logout")
    logout_challenge = query(logout_start.headers["location"])["logout_challenge"]
    logout = await call(oauth2.get_o_auth2_logout_request, logout_challenge)
    assert isinstance(logout, OAuth2LogoutRequest) and logout.subject == subject
    logged_out = await call(oauth2.accept_o_auth2_logout_request, logout_challenge)
    assert isinstance(logged_out, OAuth2RedirectTo) and "logout_verifier=" in logged_out.redirect_to

    assert await call(oauth2.revoke_o_auth2_login_sessions, subject=subject) is None
    assert await call(oauth2.revoke_o_auth2_consent_sessions, subject, client=cid) is None
    assert await call(oauth2.list_o_auth2_consent_sessions, subject) == []


async def test_rejections(admin_api, server, browser, make_client):
    oauth2 = hydra.OAuth2Api(admin_api)
    client = await make_client(grant_types=["authorization_code"], redirect_uris=[REDIRECT], scope="openid")
    login_challenge = await _authorize(browser, client, "openid")
    rejected = await call(oauth2.reject_o_auth2_login_request, login_challenge,
                          RejectOAuth2Request(error="access_denied", error_description="no"))
    assert isinstance(rejected, OAuth2RedirectTo)
    assert query((await browser.get(rejected.redirect_to)).headers["location"])["error"] == "access_denied"

    login_challenge = await _authorize(browser, client, "openid")
    accepted = await call(oauth2.accept_o_auth2_login_request, login_challenge,  # remembered: logout has a session
                          AcceptOAuth2LoginRequest(subject=f"sdk-{uuid.uuid4()}", remember=True))
    consent_challenge = query((await browser.get(accepted.redirect_to)).headers["location"])["consent_challenge"]
    rejected = await call(oauth2.reject_o_auth2_consent_request, consent_challenge,
                          RejectOAuth2Request(error="consent_required"))
    assert isinstance(rejected, OAuth2RedirectTo)
    assert query((await browser.get(rejected.redirect_to)).headers["location"])["error"] == "consent_required"

    logout_start = await browser.get(f"{server.public_url}/oauth2/sessions/logout")
    logout_challenge = query(logout_start.headers["location"])["logout_challenge"]
    assert await call(oauth2.reject_o_auth2_logout_request, logout_challenge) is None


async def test_redirect_only_operations(public_api, server):
    """The SDK types these two as 302-only (no parameters can be sent), so every answer is an ApiException."""
    with pytest.raises(hydra.ApiException) as authorize:
        await call(hydra.OAuth2Api(public_api).o_auth2_authorize)
    # Without a client the error cannot go to a redirect URI: Hydra 302s to its fallback error page, which
    # hydralite renders at once when URLS_ERROR is unset.
    assert authorize.value.status == 400 and "invalid_client" in authorize.value.body
    with pytest.raises(hydra.ApiException) as logout:
        await call(hydra.OidcApi(public_api).revoke_oidc_session)
    # No session cookie: nobody to log out, so straight to the default post-logout page, as Hydra does.
    assert logout.value.status == 302
    assert logout.value.headers["location"] == f"{server.public_url}/oauth2/fallbacks/logout/callback"


@pytest.fixture(scope="module")
async def registration_server(postgres, template_db):
    """A second server with oidc.dynamic_client_registration.enabled (the shared one keeps it off, as Hydra)."""
    dsn = await postgres.create_database(template_db)
    with run_server(dsn, OIDC_DYNAMIC_CLIENT_REGISTRATION_ENABLED="true") as srv:
        yield srv


async def test_dynamic_client_registration(registration_server):
    with api_client(registration_server.public_url) as anonymous:
        created = await call(hydra.OidcApi(anonymous).create_oidc_dynamic_client, OAuth2Client(
            client_name="sdk-dynamic", grant_types=["client_credentials"], scope="api"))
    assert isinstance(created, OAuth2Client) and created.client_secret and created.registration_access_token
    cid = created.client_id
    assert created.registration_client_uri == f"{registration_server.public_url}/oauth2/register/{cid}"

    with api_client(registration_server.public_url, access_token=created.registration_access_token) as owner:
        api = hydra.OidcApi(owner)
        got = await call(api.get_oidc_dynamic_client, cid)
        assert got.client_name == "sdk-dynamic" and got.client_secret is None and got.metadata is None
        replaced = await call(api.set_oidc_dynamic_client, cid, OAuth2Client(
            client_name="sdk-dynamic-2", grant_types=["client_credentials"], scope="api"))
        assert replaced.client_name == "sdk-dynamic-2" and replaced.registration_access_token
        assert replaced.registration_access_token != created.registration_access_token
        with pytest.raises(hydra.exceptions.UnauthorizedException):  # the token rotated on PUT
            await call(api.get_oidc_dynamic_client, cid)

    with api_client(registration_server.public_url, access_token=replaced.registration_access_token) as owner:
        api = hydra.OidcApi(owner)
        assert await call(api.delete_oidc_dynamic_client, cid) is None
        with pytest.raises(hydra.exceptions.UnauthorizedException):
            await call(api.get_oidc_dynamic_client, cid)


async def test_trust_relationships(admin_api, server):
    """OAuth2Api's jwt-bearer trust operations; the relationship then lets an assertion become a token."""
    import time
    from datetime import UTC, datetime, timedelta

    import httpx
    from joserfc import jwt
    from joserfc.jwk import ECKey
    from ory_hydra_client.models import TrustedOAuth2JwtGrantIssuer, TrustOAuth2JwtGrantIssuer

    from tests.conftest import basic

    issuer, kid = f"https://sdk-idp-{uuid.uuid4().hex[:8]}.example.com", "sdk-" + uuid.uuid4().hex[:8]
    key = ECKey.generate_key("P-256", parameters={"kid": kid}, private=True)
    jwk = JsonWebKey.from_dict({**key.as_dict(private=False), "alg": "ES256", "use": "sig"})
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)
    api = hydra.OAuth2Api(admin_api)
    created = await call(api.trust_o_auth2_jwt_grant_issuer, TrustOAuth2JwtGrantIssuer(
        issuer=issuer, subject="sdk-user", scope=["api"], jwk=jwk, expires_at=expires))
    assert isinstance(created, TrustedOAuth2JwtGrantIssuer) and created.id
    assert created.public_key.kid == kid and created.public_key.set == issuer and created.expires_at == expires
    got = await call(api.get_trusted_o_auth2_jwt_grant_issuer, created.id)
    assert got.subject == "sdk-user" and got.scope == ["api"] and got.allow_any_subject is False
    listed = await call(api.list_trusted_o_auth2_jwt_grant_issuers, issuer=issuer, page_size=10)
    assert [g.id for g in listed] == [created.id]

    client = (await asyncio.to_thread(httpx.post, f"{server.admin_url}/admin/clients", json={
        "grant_types": ["urn:ietf:params:oauth:grant-type:jwt-bearer"], "scope": "api"})).json()
    now = int(time.time())
    assertion = jwt.encode({"alg": "ES256", "kid": kid}, {
        "iss": issuer, "sub": "sdk-user", "aud": f"{server.public_url}/oauth2/token", "exp": now + 300, "iat": now,
        "jti": uuid.uuid4().hex}, key)
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion, "scope": "api"}
    response = await asyncio.to_thread(httpx.post, f"{server.public_url}/oauth2/token", data=form,
                                       headers=basic(client["client_id"], client["client_secret"]))
    assert response.status_code == 200, response.text

    assert await call(api.delete_trusted_o_auth2_jwt_grant_issuer, created.id) is None
    with pytest.raises(hydra.exceptions.NotFoundException):
        await call(api.get_trusted_o_auth2_jwt_grant_issuer, created.id)
    assert await call(api.list_trusted_o_auth2_jwt_grant_issuers, issuer=issuer) == []


def _sdk_form_call(api: hydra.ApiClient, path: str, form: list[tuple[str, str]], model: str):
    """A form POST through the SDK's own serializer and typed deserializer, for the operations whose generated
    method takes no form parameters (o_auth2_device_flow) or lacks one (oauth2_token_exchange has no device_code)."""
    params = api.param_serialize(method="POST", resource_path=path, post_params=form, header_params={
        "Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"})
    response = api.call_api(*params)
    response.read()
    return api.response_deserialize(response_data=response, response_types_map={"200": model}).data


async def test_device_flow(public_api, admin_api, server, browser, make_client):
    """OAuth2Api.o_auth2_device_flow, perform_o_auth2_device_verification_flow and accept_user_code_request, and
    the device-request getter answered as the SDK's DeviceUserAuthRequest."""
    import httpx
    from ory_hydra_client.models import AcceptDeviceUserCodeRequest, DeviceAuthorization, DeviceUserAuthRequest

    grant = "urn:ietf:params:oauth:grant-type:device_code"
    client = await make_client(grant_types=[grant], scope="openid api", token_endpoint_auth_method="client_secret_post")
    cid, secret = client["client_id"], client["client_secret"]
    oauth2_public, oauth2_admin = hydra.OAuth2Api(public_api), hydra.OAuth2Api(admin_api)
    with pytest.raises(hydra.exceptions.BadRequestException) as bare:  # the generated method sends no form at all
        await call(oauth2_public.o_auth2_device_flow)
    assert "invalid_request" in bare.value.body
    device = await call(_sdk_form_call, public_api, "/oauth2/device/auth",
                        [("client_id", cid), ("client_secret", secret), ("scope", "openid api")], "DeviceAuthorization")
    assert isinstance(device, DeviceAuthorization) and device.device_code.startswith("ory_dc_")
    assert device.verification_uri == f"{server.public_url}/oauth2/device/verify" and device.interval == 5

    with pytest.raises(hydra.ApiException) as verify:  # typed as 302-only, like o_auth2_authorize
        await call(oauth2_public.perform_o_auth2_device_verification_flow)
    assert verify.value.status == 302
    location = verify.value.headers["location"]
    assert location.startswith(f"{server.public_url}/oauth2/fallbacks/device?device_challenge=")
    challenge = query(location)["device_challenge"]
    seen = DeviceUserAuthRequest.from_dict((await asyncio.to_thread(
        httpx.get, f"{server.admin_url}/admin/oauth2/auth/requests/device",
        params={"device_challenge": challenge})).json())
    assert seen.challenge == challenge and seen.request_url == device.verification_uri
    accepted = await call(oauth2_admin.accept_user_code_request, challenge,
                          AcceptDeviceUserCodeRequest(user_code=device.user_code))
    assert isinstance(accepted, OAuth2RedirectTo) and "device_verifier=" in accepted.redirect_to

    cookie = verify.value.headers["set-cookie"].split(";")[0].split("=", 1)
    browser.http.cookies.set(cookie[0], cookie[1])  # the device CSRF cookie the verify answer set
    done = await browser.consent(await browser.login(await browser.get(accepted.redirect_to)))
    assert done.headers["location"] == f"{server.public_url}/oauth2/fallbacks/device/done?client_id={cid}"
    tokens = await call(_sdk_form_call, public_api, "/oauth2/token", [
        ("grant_type", grant), ("device_code", device.device_code), ("client_id", cid), ("client_secret", secret)],
        "OAuth2TokenExchange")
    assert isinstance(tokens, OAuth2TokenExchange) and tokens.access_token.startswith("ory_at_") and tokens.id_token
