"""private_key_jwt client authentication (RFC 7523 §2.2, OIDC Core §9), as fosite's authenticateClient does it.

The client signs a JWT with `iss` = `sub` = its client_id, `aud` = the token endpoint URL, `exp` and a
single-use `jti`; it is verified against the client's `jwks` or the JWKS behind its `jwks_uri` (fetched through
engine.outbound, cached per URL). Order of checks: size and shape, then the client (never a network call for a
client that is not registered), its method and alg, the keys, the signature, the claims, and last the `jti`.

Also the small helpers a JWT verifier needs (shape, key selection, time claims), shared with the jwt-bearer grant:
`decode_unverified`, `candidate_keys`, `verify_signature`, `check_time_claims`, `token_urls`, `jti_signature`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, RSAKey

from hydralite.config import Config
from hydralite.engine.outbound import Outbound, OutboundError
from hydralite.models import Client

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: Hydra's supportedAuthTokenSigningAlgs; HMAC (client_secret_jwt) and `none` are never accepted.
SIGNING_ALGS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512")
_KEY_TYPES = {"R": "RSA", "P": "RSA", "E": "EC"}
#: hydralite's bounds (fosite has none): an assertion is short, and its jti is kept until `exp`.
MAX_ASSERTION_LENGTH = 16 * 1024
MAX_LIFETIME = 24 * 3600
#: The JWKS cache: fosite's DefaultJWKSFetcherStrategy keeps a fetched set for one hour.
JWKS_TTL = 3600.0
JWKS_TIMEOUT = 5.0
JWKS_MAX_BYTES = 256 * 1024
JWKS_CACHE_SIZE = 1000
#: A kid the cached set does not know refetches it at most this often per URL (fosite: on every such request).
JWKS_REFRESH_INTERVAL = 30.0

_INTEGRITY = "Unable to verify the integrity of the 'client_assertion' value."
_CLAIMS = ("Unable to verify the request object because its claims could not be validated, check if the expiry "
           "time is set correctly.")


class Refused(Exception):
    """The assertion does not authenticate the client: invalid_client with this hint (debug shown only if asked)."""

    def __init__(self, hint: str, debug: str = ""):
        super().__init__(hint)
        self.hint = hint
        self.debug = debug


class MalformedJWT(ValueError):
    """Not a compact JWS whose header and payload are JSON objects."""


class TimeClaimError(ValueError):
    """A time claim fails: `kind` is exp_missing, expired, too_long, nbf, iat_missing or iat_future."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind = kind


class AssertionStorage(Protocol):
    async def get_client(self, client_id: str) -> Client | None: ...

    async def spend_jti(self, signature: str, expires_at: datetime) -> bool: ...


# Helpers shared by every JWT this server verifies (client assertions here, the jwt-bearer grant).


def _b64(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as exc:
        raise MalformedJWT("a part is not base64url") from exc


def decode_unverified(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a compact JWS, NOT verified: only to find the client, its keys and the alg."""
    parts = token.split(".")
    if len(parts) != 3 or not all(parts[:2]):
        raise MalformedJWT("not three dot-separated parts")
    try:
        header, claims = orjson.loads(_b64(parts[0])), orjson.loads(_b64(parts[1]))
    except orjson.JSONDecodeError as exc:
        raise MalformedJWT("header or payload is not JSON") from exc
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise MalformedJWT("header or payload is not a JSON object")
    return header, claims


def candidate_keys(jwks: Sequence[Any], header: dict[str, Any]) -> list[dict[str, Any]]:
    """The keys that may have signed a JWT with this header: same kid (when it names one), key type of its alg,
    and meant for signatures. Differs from fosite on purpose: a key without `use` counts (fosite needs 'sig')."""
    alg = header.get("alg")
    kty = _KEY_TYPES.get(alg[0]) if isinstance(alg, str) and alg in SIGNING_ALGS else None
    kid = header.get("kid")
    out = []
    for key in jwks:
        if not isinstance(key, dict) or key.get("kty") != kty or key.get("use", "sig") != "sig":
            continue
        if isinstance(kid, str) and key.get("kid") != kid:
            continue
        if isinstance(key.get("alg"), str) and key["alg"] != alg:
            continue
        out.append(key)
    return out


def verify_signature(token: str, keys: Sequence[dict[str, Any]], alg: str) -> dict[str, Any] | None:
    """The claims when one of `keys` verifies the token with exactly `alg` (one of SIGNING_ALGS), else None."""
    if alg not in SIGNING_ALGS:
        return None
    for jwk in keys:
        try:
            members = {k: v for k, v in jwk.items() if k not in ("d", "p", "q", "dp", "dq", "qi", "oth", "k")}
            key = RSAKey.import_key(members) if jwk.get("kty") == "RSA" else ECKey.import_key(members)
            # joserfc refuses algs outside its "recommended" list unless they are named (PS384, ES512, ...).
            payload = jws.deserialize_compact(token, key, algorithms=[alg]).payload
            claims = orjson.loads(payload)
        except (JoseError, ValueError, TypeError, KeyError):
            continue
        if isinstance(claims, dict):
            return claims
    return None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def check_time_claims(claims: dict[str, Any], *, now: float | None = None, leeway: float = 0.0,
                      require_iat: bool = False, max_lifetime: float | None = None) -> None:
    """Raise TimeClaimError unless `exp` is present and in the future, `nbf` and `iat` (when present, or
    required) are not in the future, and `exp` is at most `max_lifetime` seconds away. fosite has no leeway."""
    now = time.time() if now is None else now
    exp = _number(claims.get("exp"))
    if exp is None:
        raise TimeClaimError("exp_missing", "the 'exp' claim is missing or not a number")
    if exp + leeway < now:
        raise TimeClaimError("expired", "the JWT expired")
    if max_lifetime is not None and exp - now > max_lifetime:
        raise TimeClaimError("too_long", "the 'exp' claim is too far in the future")
    if "nbf" in claims:
        nbf = _number(claims["nbf"])
        if nbf is None or nbf - leeway > now:
            raise TimeClaimError("nbf", "the JWT is not valid yet ('nbf')")
    if "iat" in claims or require_iat:
        iat = _number(claims.get("iat"))
        if iat is None:
            raise TimeClaimError("iat_missing", "the 'iat' claim is missing or not a number")
        if iat - leeway > now:
            raise TimeClaimError("iat_future", "the JWT was issued in the future ('iat')")


def token_urls(config: Config) -> list[str]:
    """The URLs an assertion's `aud` may name, as Hydra's GetTokenURLs: public and issuer base + /oauth2/token."""
    urls = [f"{config.public_url.rstrip('/')}/oauth2/token", f"{config.issuer.rstrip('/')}/oauth2/token"]
    return list(dict.fromkeys(urls))


def audience_matches(claims: dict[str, Any], urls: Sequence[str]) -> bool:
    aud = claims.get("aud")
    names = aud if isinstance(aud, list) else [aud]
    return any(isinstance(name, str) and name in urls for name in names)


def jti_signature(issuer: str, jti: str) -> str:
    """What the jti store keeps: sha256 hex as Hydra's signatureFromJTI, over the issuer too, so that one
    issuer's (or client's) ids never block another's (Hydra hashes the jti alone)."""
    return hashlib.sha256(f"{issuer}\x00{jti}".encode("utf-8", "surrogatepass")).hexdigest()


# The JWKS behind a client's jwks_uri.


@dataclass(slots=True)
class _Entry:
    keys: list[Any]
    fetched: float
    refreshed: float | None  # when a kid it lacked last forced a refetch


class JwksCache:
    """JSON Web Key Sets by URL: kept JWKS_TTL seconds, LRU-bounded, one fetch per URL at a time."""

    def __init__(self, outbound: Outbound, *, ttl: float = JWKS_TTL, size: int = JWKS_CACHE_SIZE):
        self.outbound = outbound
        self.ttl = ttl
        self.size = size
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[list[Any]]] = {}

    async def get(self, url: str) -> tuple[list[Any], bool]:
        """(keys, fetched_now): the cached set while it is fresh, else a new fetch."""
        entry = self._entries.get(url)
        if entry is not None and time.monotonic() - entry.fetched < self.ttl:
            self._entries.move_to_end(url)
            return entry.keys, False
        return await self._fetch(url), True

    async def refresh(self, url: str) -> list[Any]:
        """Fetch again because a kid was not found; at most once per JWKS_REFRESH_INTERVAL per URL."""
        entry = self._entries.get(url)
        now = time.monotonic()
        if entry is not None and entry.refreshed is not None and now - entry.refreshed < JWKS_REFRESH_INTERVAL:
            return entry.keys
        if entry is not None:
            entry.refreshed = now
        keys = await self._fetch(url)
        if (fetched := self._entries.get(url)) is not None:
            fetched.refreshed = now
        return keys

    async def _fetch(self, url: str) -> list[Any]:
        future = self._inflight.get(url)
        if future is None:
            future = asyncio.ensure_future(self._download(url))
            self._inflight[url] = future
            future.add_done_callback(lambda done: self._settle(url, done))
        return await asyncio.shield(future)

    def _settle(self, url: str, done: asyncio.Future[list[Any]]) -> None:
        if self._inflight.get(url) is done:
            del self._inflight[url]
        if not done.cancelled():
            done.exception()  # retrieved here, so a failure nobody awaited any more is not logged as lost

    async def _download(self, url: str) -> list[Any]:
        document = await self.outbound.get_json(url, timeout=JWKS_TIMEOUT, max_bytes=JWKS_MAX_BYTES)
        keys = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(keys, list):
            raise OutboundError("the answer is not a JSON Web Key Set")
        entry = self._entries.get(url)
        self._entries[url] = _Entry(keys, time.monotonic(), entry.refreshed if entry else None)
        self._entries.move_to_end(url)
        while len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return keys


# Client authentication.


class ClientAssertions:
    """Verifies `client_assertion`s for the token, revocation and device endpoints."""

    def __init__(self, config: Config, outbound: Outbound, repo: AssertionStorage):
        self.urls = token_urls(config)
        self.repo = repo
        self.jwks = JwksCache(outbound)

    async def authenticate(self, assertion: str, client_id: str) -> Client:
        """The client the assertion authenticates, or Refused."""
        if len(assertion) > MAX_ASSERTION_LENGTH:
            raise Refused(f"The 'client_assertion' must not be longer than {MAX_ASSERTION_LENGTH} characters.")
        try:
            header, unverified = decode_unverified(assertion)
        except MalformedJWT as exc:
            raise Refused(_INTEGRITY, str(exc)) from None
        if not client_id:
            sub = unverified.get("sub")
            if not isinstance(sub, str):
                raise Refused("The claim 'sub' from the client_assertion JSON Web Token is undefined.")
            client_id = sub
        if not client_id or len(client_id) > 255 or "\x00" in client_id:
            raise Refused("", "the client_id is empty or too long")
        client = await self.repo.get_client(client_id)
        if client is None:
            raise Refused("", "the client does not exist")
        self._check_method(client, header)
        alg = header["alg"]
        claims = verify_signature(assertion, await self._keys(client, header), alg)
        if claims is None:
            raise Refused(_INTEGRITY, "no key of the client verifies the signature")
        return await self._check_claims(client, claims)

    @staticmethod
    def _check_method(client: Client, header: dict[str, Any]) -> None:
        method = client.auth_method
        if method == "none":
            raise Refused("This requested OAuth 2.0 client does not support client authentication, however "
                          "'client_assertion' was provided in the request.")
        if method in ("client_secret_basic", "client_secret_post"):
            raise Refused(f"This requested OAuth 2.0 client only supports client authentication method '{method}', "
                          "however 'client_assertion' was provided in the request.")
        if method != "private_key_jwt":
            # client_secret_jwt lands here too: fosite does not support it (secrets are stored only as hashes).
            raise Refused(f"This requested OAuth 2.0 client only supports client authentication method '{method}', "
                          "however that method is not supported by this server.")
        alg = header.get("alg")
        shown = str(alg)[:32]
        wanted = client.metadata.get("token_endpoint_auth_signing_alg") or "RS256"
        if alg != wanted:
            raise Refused(f"The 'client_assertion' uses signing algorithm '{shown}' but the requested OAuth 2.0 "
                          f"Client enforces signing algorithm '{wanted}'.")
        if isinstance(alg, str) and alg.startswith("HS"):
            raise Refused("This authorization server does not support client authentication method "
                          "'client_secret_jwt'.")
        if alg not in SIGNING_ALGS:
            raise Refused(f"The 'client_assertion' request parameter uses unsupported signing algorithm '{shown}'.")

    async def _keys(self, client: Client, header: dict[str, Any]) -> list[dict[str, Any]]:
        """The client's keys that may have signed this assertion (fosite's findClientPublicJWK)."""
        jwks = client.metadata.get("jwks")
        inline = jwks.get("keys") if isinstance(jwks, dict) else None
        location = client.metadata.get("jwks_uri") or ""
        if isinstance(inline, list) and (inline or not location):
            return self._pick(inline, header)
        if not location:
            raise Refused("The OAuth 2.0 Client has no JSON Web Keys set registered, but they are needed to "
                          "complete the request.")
        try:
            keys, fresh = await self.jwks.get(location)
            found = candidate_keys(keys, header)
            if not found and not fresh:
                keys = await self.jwks.refresh(location)
        except OutboundError as exc:
            # fosite answers server_error (500) here; the client's own key location failing is its problem.
            raise Refused("Unable to fetch JSON Web Keys from the client's 'jwks_uri'. Check for typos or other "
                          "network issues.", str(exc)) from None
        return self._pick(keys, header)

    @staticmethod
    def _pick(keys: list[Any], header: dict[str, Any]) -> list[dict[str, Any]]:
        if not keys:
            raise Refused("The retrieved JSON Web Key Set does not contain any key.")
        found = candidate_keys(keys, header)
        if not found:
            kid = header.get("kid")
            if isinstance(kid, str) and not any(isinstance(k, dict) and k.get("kid") == kid for k in keys):
                raise Refused(f"The JSON Web Token uses signing key with kid '{kid[:64]}', which could not be found.")
            raise Refused(f"Unable to find a public key with use='sig' for alg '{header.get('alg')}' and kid "
                          f"'{str(kid)[:64]}' in JSON Web Key Set.")
        return found

    async def _check_claims(self, client: Client, claims: dict[str, Any]) -> Client:
        try:
            check_time_claims(claims, max_lifetime=MAX_LIFETIME)
        except TimeClaimError as exc:
            if exc.kind == "too_long":
                raise Refused(f"The 'client_assertion' must expire within {MAX_LIFETIME // 3600} hours; its 'exp' "
                              "claim is too far in the future.") from None
            raise Refused(_CLAIMS, str(exc)) from None
        if claims.get("iss") != client.id:
            raise Refused("Claim 'iss' from 'client_assertion' must match the 'client_id' of the OAuth 2.0 Client.")
        if claims.get("sub") != client.id:
            raise Refused("Claim 'sub' from 'client_assertion' must match the 'client_id' of the OAuth 2.0 Client.")
        jti = claims.get("jti")
        if not isinstance(jti, str) or not jti:
            raise Refused("Claim 'jti' from 'client_assertion' must be set but is not.")
        # fosite spends the jti before it checks the audience; an assertion for another server keeps its jti here.
        if not audience_matches(claims, self.urls):
            raise Refused("Claim 'audience' from 'client_assertion' must match the authorization server's token "
                          "endpoint '" + "' or '".join(self.urls) + "'.")
        expires = datetime.fromtimestamp(float(claims["exp"]), UTC)
        if not await self.repo.spend_jti(jti_signature(client.id, jti), expires):
            # Hydra answers 400 jti_known (not an RFC 6749 error); a replayed assertion authenticates nobody.
            raise Refused("Claim 'jti' from 'client_assertion' MUST only be used once.")
        return client
