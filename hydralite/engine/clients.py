"""OAuth 2.0 client metadata: decoding, Hydra's defaults and validation, serialisation.

The stored `metadata` document is the client exactly as Hydra serialises it, minus the
secret, so reading a client costs one row and no reshaping.
"""

from __future__ import annotations

import base64
import ipaddress
import secrets as _secrets
import string
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from hydralite.config import Config, format_duration, parse_duration
from hydralite.crypto.hashing import MAX_SECRET_LENGTH
from hydralite.engine import pairwise
from hydralite.errors import (
    APIError,
    ClientMetadataError,
    bad_request,
    invalid_client_metadata,
    invalid_redirect_uri,
)

#: In the order of Hydra's Lifespans struct, which is the order of the JSON keys.
LIFESPANS = (
    "authorization_code_grant_access_token_lifespan",
    "authorization_code_grant_id_token_lifespan",
    "authorization_code_grant_refresh_token_lifespan",
    "client_credentials_grant_access_token_lifespan",
    "implicit_grant_access_token_lifespan",
    "implicit_grant_id_token_lifespan",
    "jwt_bearer_grant_access_token_lifespan",
    "refresh_token_grant_id_token_lifespan",
    "refresh_token_grant_access_token_lifespan",
    "refresh_token_grant_refresh_token_lifespan",
    "device_authorization_grant_id_token_lifespan",
    "device_authorization_grant_access_token_lifespan",
    "device_authorization_grant_refresh_token_lifespan",
)

_STRINGS = ("client_id", "client_name", "client_secret", "scope", "owner", "policy_uri", "tos_uri", "client_uri",
            "logo_uri", "subject_type", "sector_identifier_uri", "jwks_uri", "token_endpoint_auth_method",
            "token_endpoint_auth_signing_alg", "request_object_signing_alg", "userinfo_signed_response_alg",
            "frontchannel_logout_uri", "backchannel_logout_uri", "access_token_strategy",
            "registration_access_token", "registration_client_uri", "created_at", "updated_at")
_LISTS = ("redirect_uris", "grant_types", "response_types", "audience", "allowed_cors_origins", "contacts",
          "request_uris", "post_logout_redirect_uris")
_BOOLS = ("frontchannel_logout_session_required", "backchannel_logout_session_required", "skip_consent")
_NULL_BOOLS = ("skip_logout_consent",)
#: Hydra's `sqlxx.StringSliceJSONFormat` fields that neither `omitempty` nor `BeforeSave` touch: an unset one is
#: Go's nil slice, `null` in the create/PUT/PATCH answer, and `[]` once read back from the database (GET, list).
NIL_LISTS = ("redirect_uris", "grant_types", "response_types", "contacts")

#: Field order of Hydra's Go struct, which is the JSON order its responses use.
FIELD_ORDER = (
    "client_id", "client_name", "client_secret", "redirect_uris", "grant_types", "response_types", "scope",
    "audience", "owner", "policy_uri", "allowed_cors_origins", "tos_uri", "client_uri", "logo_uri", "contacts",
    "client_secret_expires_at", "subject_type", "sector_identifier_uri", "jwks_uri", "jwks",
    "token_endpoint_auth_method", "token_endpoint_auth_signing_alg", "request_uris", "request_object_signing_alg",
    "userinfo_signed_response_alg", "created_at", "updated_at", "frontchannel_logout_uri",
    "frontchannel_logout_session_required", "post_logout_redirect_uris", "backchannel_logout_uri",
    "backchannel_logout_session_required", "metadata", "registration_access_token", "registration_client_uri",
    "access_token_strategy", "skip_consent", "skip_logout_consent", *LIFESPANS,
)
#: Keys Hydra drops from the JSON when they hold their zero value (Go `omitempty`).
_OMIT_EMPTY = {"client_secret", "sector_identifier_uri", "jwks_uri", "token_endpoint_auth_method",
               "token_endpoint_auth_signing_alg", "request_uris", "request_object_signing_alg",
               "userinfo_signed_response_alg", "frontchannel_logout_uri", "frontchannel_logout_session_required",
               "post_logout_redirect_uris", "backchannel_logout_uri", "backchannel_logout_session_required",
               "registration_access_token", "registration_client_uri", "access_token_strategy"}
# `metadata` is `omitempty` too, but a JSON raw message is never empty after BeforeSave (`{}` or the sent `null`).

_SERVER_SET = frozenset({"client_id", "client_secret", "created_at", "updated_at", "registration_access_token",
                         "registration_client_uri"})
AUTH_METHODS = ("client_secret_basic", "client_secret_post", "private_key_jwt", "none")
_SECRET_ALPHABET = string.ascii_letters + string.digits + "-_.~"
MAX_ID_LENGTH = 255
_MAX_GO_DURATION = (2**63 - 1) / 1e9
MAX_STRING_LENGTH = 4096
MAX_LIST_LENGTH = 1000
_PATH_SAFE = "$&+,;=:@"  # what Go's url.PathEscape leaves alone besides the unreserved characters
#: Set by decode() in its result when a JWK decoded (as go-jose would) but is not a usable key; validate() refuses it.
_INVALID_JWK = " invalid_jwk"


def generate_secret(length: int = 26) -> str:
    """A random secret from Hydra's alphabet (URL-safe, so Basic auth never needs escaping)."""
    return "".join(_secrets.choice(_SECRET_ALPHABET) for _ in range(length))


def now_utc() -> datetime:
    """Full precision: updated_at doubles as the row version that remembered clients are checked against."""
    return datetime.now(UTC)


def rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rfc3339_nano(moment: datetime) -> str:
    """Go's `time.Time` JSON: RFC 3339 with the fraction of a second, trailing zeros dropped."""
    utc = moment.astimezone(UTC)
    fraction = f"{utc.microsecond:06d}".rstrip("0")
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def unset_lists(fields: Mapping[str, Any]) -> frozenset[str]:
    """The NIL_LISTS keys a decoded body left out or sent as null: the answer to that body shows them as null."""
    return frozenset(key for key in NIL_LISTS if fields.get(key) is None)


def registration_client_uri(public_url: str, supplied_id: str | None) -> str:
    """Hydra builds it before its store assigns a generated id, so only an id from the body is in the path."""
    path = f"{public_url.rstrip('/')}/oauth2/register"
    return f"{path}/{quote(supplied_id, safe=_PATH_SAFE)}" if supplied_id else path


def check_dynamic(fields: Mapping[str, Any]) -> None:
    """What Hydra's ValidateDynamicRegistration refuses from a self-registering client, in its order, before the
    usual validation: fields that only an administrator may set."""
    if "metadata" in fields:  # even `null`: Go's json.RawMessage keeps it, so Hydra sees it as set
        raise invalid_client_metadata('"metadata" cannot be set for dynamic client registration')
    if fields.get("access_token_strategy"):
        raise bad_request("It is not allowed to choose your own access token strategy.")
    for flag in ("skip_consent", "skip_logout_consent"):
        if fields.get(flag):
            raise ClientMetadataError("invalid_request", f'"{flag}" cannot be set for dynamic client registration')
    # Differs from Hydra on purpose (SECURITY.md C7): token lifespans stay the administrator's (PUT .../lifespans),
    # or a self-registered client could give itself tokens that live for years.
    for key in LIFESPANS:
        if fields.get(key) is not None:
            raise invalid_client_metadata(f'"{key}" cannot be set for dynamic client registration')


def _type_error(field: str, value: Any, want: str) -> APIError:
    kind = {bool: "bool", int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), "value")
    return bad_request(f"Unable to decode the request body: json: cannot unmarshal {kind} into Go struct field "
                       f"Client.{field} of type {want}")


def _check_text(field: str, value: str, limit: int = MAX_STRING_LENGTH) -> str:
    """Differs from Hydra on purpose (SECURITY.md C3, C9): bounded sizes, and no NUL PostgreSQL cannot store."""
    if "\x00" in value:
        raise bad_request(f"Field {field} must not contain NUL characters.")
    if len(value) > limit:
        raise bad_request(f"Field {field} is longer than {limit} characters.")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise bad_request(f"Field {field} is not valid UTF-8.") from exc
    return value


def decode(body: Any) -> dict[str, Any]:
    """Type-check a client JSON document the way Go's decoder would; unknown keys are ignored (as Hydra)."""
    if not isinstance(body, dict):
        raise _type_error("", body, "client.Client") if body is not None else bad_request(
            "Unable to decode the request body: EOF")
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key in _STRINGS:
            if value is None:
                value = ""
            if not isinstance(value, str):
                raise _type_error(key, value, "string")
            out[key] = _check_text(key, value, MAX_ID_LENGTH if key == "client_id" else MAX_STRING_LENGTH)
        elif key in _LISTS:
            if value is None:
                out[key] = None
                continue
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise _type_error(key, value, "[]string")
            if len(value) > MAX_LIST_LENGTH:
                raise bad_request(f"Field {key} has more than {MAX_LIST_LENGTH} entries.")
            out[key] = [_check_text(key, v) for v in value]
        elif key in _BOOLS:
            if value is None:
                value = False
            if not isinstance(value, bool):
                raise _type_error(key, value, "bool")
            out[key] = value
        elif key in _NULL_BOOLS:
            if value is not None and not isinstance(value, bool):
                raise _type_error(key, value, "bool")
            out[key] = value
        elif key == "client_secret_expires_at":
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise _type_error(key, value, "int")
        elif key == "jwks":
            if value is not None and not isinstance(value, dict):
                raise _type_error(key, value, "jose.JSONWebKeySet")
            keys = value.get("keys") if value is not None else None
            if keys is not None and not isinstance(keys, list):
                raise _type_error(key + ".keys", keys, "[]jose.JSONWebKey")
            invalid = False
            for jwk in keys or []:
                try:
                    invalid = not check_jwk(jwk) or invalid
                except ValueError as exc:
                    raise bad_request(f"Unable to decode the request body: {exc}") from None
            # Go decodes into a struct embedding *jose.JSONWebKeySet: only `keys` survives, and the set exists
            # (GetJSONWebKeys() != nil) as soon as the member is there, even as `[]` or `null`.
            out[key] = {"keys": keys} if value is not None and "keys" in value else {}
            if invalid:
                out[_INVALID_JWK] = True
        elif key == "metadata":
            _check_json_text("metadata", value)
            out[key] = value
        elif key in LIFESPANS:
            out[key] = decode_lifespan(key, value)
    return out


def _check_json_text(field: str, value: Any) -> None:
    """Reject NUL characters and lone surrogates anywhere inside free-form JSON (PostgreSQL cannot store them)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            _check_text(field, item, 1 << 20)
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def decode_lifespan(key: str, value: Any) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise _type_error(key, value, "x.NullDuration")
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise bad_request(f"Unable to decode the request body: invalid duration {value!r} for {key}") from exc
    # Go's time.Duration is an int64 of nanoseconds; a negative lifespan makes no sense for a token.
    if not 0 <= seconds <= _MAX_GO_DURATION:
        raise bad_request(f"Unable to decode the request body: invalid duration {value!r} for {key}")
    return format_duration(seconds)


def _absolute_uri(uri: str, url: GoURL) -> bool:
    """hydralite's stricter reading of a redirect URI: a scheme, no spaces, and a host for http(s)."""
    try:
        urlsplit(uri)  # the authorization endpoint reads it with urllib later: what it cannot split is refused now
    except ValueError:
        return False
    return bool(url.scheme) and " " not in uri and (bool(url.host) or url.scheme not in ("http", "https"))


def validate(fields: dict[str, Any], config: Config) -> dict[str, Any]:
    """Apply Hydra's defaults and validation; return the stored document (without the secret)."""
    # Server-set and response-only fields are never taken from the body (they would be stored and echoed).
    c: dict[str, Any] = {key: fields.get(key) for key in FIELD_ORDER if key not in _SERVER_SET}
    for key in ("client_name", "scope", "owner", "policy_uri", "tos_uri", "client_uri", "logo_uri", "subject_type",
                "sector_identifier_uri", "jwks_uri", "token_endpoint_auth_method", "token_endpoint_auth_signing_alg",
                "request_object_signing_alg", "userinfo_signed_response_alg", "frontchannel_logout_uri",
                "backchannel_logout_uri", "access_token_strategy"):
        c[key] = c[key] or ""
    for key in _LISTS:
        c[key] = c[key] or []
    for key in _BOOLS:
        c[key] = bool(c[key])
    for key in LIFESPANS:
        c[key] = c.get(key)

    method = c["token_endpoint_auth_method"] or "client_secret_basic"
    c["token_endpoint_auth_method"] = method
    jwks = c.get("jwks") or {}
    has_keys = "keys" in jwks  # Hydra's GetJSONWebKeys() != nil
    if method == "private_key_jwt":
        if not c["jwks_uri"] and not has_keys:
            raise invalid_client_metadata(
                "When token_endpoint_auth_method is 'private_key_jwt', either jwks or jwks_uri must be set.")
        if c["token_endpoint_auth_signing_alg"] and c["token_endpoint_auth_signing_alg"] not in (
                "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"):
            raise invalid_client_metadata(
                "Only RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 and ES512 are supported as "
                "algorithms for private key authentication.")
    if c["jwks_uri"] and has_keys:
        raise invalid_client_metadata("Fields jwks and jwks_uri can not both be set, you must choose one.")
    if fields.get(_INVALID_JWK):  # decoded (see check_jwk) but not Valid(), e.g. a symmetric key
        raise invalid_client_metadata("Invalid JSON web key in set.")
    c["jwks"] = {"keys": jwks["keys"]} if has_keys else {}

    for field in ("tos_uri", "policy_uri", "logo_uri", "client_uri"):
        uri = c[field]
        if not uri:
            continue
        try:
            scheme = go_parse(uri, request_uri=True).scheme
        except GoURLError:
            raise invalid_client_metadata(f"Field {field} must be a valid URI.") from None
        if scheme not in ("http", "https"):
            raise invalid_client_metadata(f"{uri} must use https:// or http:// as HTTP scheme for field {field}.")

    secret = fields.get("client_secret") or ""
    if 0 < len(secret) < 6:
        raise invalid_client_metadata("Field client_secret must contain a secret that is at least 6 characters long.")
    # Differs from Hydra on purpose: client authentication refuses longer secrets before hashing (DoS).
    if len(secret) > MAX_SECRET_LENGTH:
        raise invalid_client_metadata(
            f"Field client_secret must contain a secret that is at most {MAX_SECRET_LENGTH} characters long.")
    if not c["scope"]:
        c["scope"] = " ".join(config.default_client_scope)

    origins = []
    for origin in c["allowed_cors_origins"]:
        try:
            url = go_parse(origin)
        except GoURLError as exc:
            raise invalid_client_metadata(
                f"Origin URL {origin} from allowed_cors_origins could not be parsed: {exc}") from None
        if url.scheme not in ("http", "https"):
            raise invalid_client_metadata(f"Origin URL {origin} must use https:// or http:// as HTTP scheme.")
        if url.user:
            raise invalid_client_metadata(
                f"Origin URL {origin} has HTTP user and/or password set which is not allowed.")
        url = replace(url, path=url.path.rstrip("/"))
        if url.path or url.raw_query or url.fragment:
            raise invalid_client_metadata(
                f"Origin URL {origin} must have an empty path, query, and fragment but one of the parts is not "
                "empty.")
        origins.append(url.string())
    c["allowed_cors_origins"] = origins
    c["client_secret_expires_at"] = 0

    alg = c["userinfo_signed_response_alg"] or "none"
    if alg not in ("none", "RS256"):
        raise invalid_client_metadata("Field userinfo_signed_response_alg can either be 'none' or 'RS256'.")
    c["userinfo_signed_response_alg"] = alg

    redirects = []
    for uri in c["redirect_uris"]:
        if "#" in uri:
            raise invalid_redirect_uri("Redirect URIs must not contain fragments (#).")
        try:
            redirect = go_parse(uri, request_uri=True)
        except GoURLError:
            raise invalid_redirect_uri(f"Unable to parse redirect URL: {uri}") from None
        # Differs from Hydra on purpose (SECURITY.md C6): a redirect URI must be absolute, without whitespace and
        # at most 2 KB, and never javascript:, data:, file: or vbscript: (a form_post page would run it).
        if not _absolute_uri(uri, redirect) or len(uri) > 2048:
            raise invalid_redirect_uri(f"Unable to parse redirect URL: {uri}")
        if redirect.scheme in ("javascript", "data", "file", "vbscript"):
            raise invalid_redirect_uri(f"Redirect URL {uri} uses a forbidden scheme.")
        redirects.append(redirect)

    pairwise.check_subject_type(c, config)  # the sector_identifier_uri is fetched later: pairwise.check_client

    for uri in c["post_logout_redirect_uris"]:
        try:
            logout = go_parse(uri, request_uri=True)
        except GoURLError:
            raise invalid_client_metadata(f"Unable to parse post_logout_redirect_uri: {uri}") from None
        if not any(r.scheme == logout.scheme and r.hostname() == logout.hostname() and r.port() == logout.port()
                   for r in redirects):
            raise invalid_client_metadata(
                f"post_logout_redirect_uri {go_quote(uri)} must match the domain, port, scheme of at least one of "
                "the registered redirect URIs but did not")

    strategy = c["access_token_strategy"].lower()
    if strategy and strategy not in ("jwt", "opaque"):
        raise invalid_client_metadata(  # the error of Hydra's config.ToAccessTokenStrategyType (stringsx)
            f"invalid access token strategy: expected one of [jwt, opaque] but got {strategy}")
    c["access_token_strategy"] = strategy

    # BeforeSave turns a missing metadata into `{}`; an explicit `null` is kept, as Go's json.RawMessage keeps it.
    if "metadata" not in fields:
        c["metadata"] = {}
    return c


def new_client_id() -> str:
    return str(uuid.uuid4())


def is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def serialize(doc: Mapping[str, Any], *, client_id: str, created_at: datetime, updated_at: datetime,
              secret: str | None = None, extra: Mapping[str, str] | None = None,
              nulls: Collection[str] = ()) -> dict[str, Any]:
    """The client as Hydra's API returns it: Go field order, `omitempty` honoured.

    `nulls` (see unset_lists) are the arrays the request left unset: Hydra answers a create, PUT or PATCH with
    its in-memory struct, where they are still nil; the stored document holds `[]`, as Hydra's GET shows.
    """
    values = dict(doc)
    values["client_id"] = client_id
    # Hydra rounds created_at to the second; updated_at is stamped by its ORM with the fraction of a second.
    values["created_at"] = rfc3339(created_at)
    values["updated_at"] = rfc3339_nano(updated_at)
    for key in nulls:
        values[key] = None
    if secret:
        values["client_secret"] = secret
    if extra:
        values.update(extra)
    out: dict[str, Any] = {}
    for key in FIELD_ORDER:
        value = values.get(key)
        if key in _OMIT_EMPTY and (value is None or value == "" or value == [] or value is False or value == {}):
            continue
        out[key] = value
    return out


# --- go-jose's JSONWebKey, as Hydra decodes a client's `jwks` -------------------------------------------------------
_JWK_STRINGS = ("use", "kty", "kid", "crv", "alg", "x5u", "x5t", "x5t#S256")
_JWK_BYTES = ("k", "x", "y", "n", "e", "d", "p", "q", "dp", "dq", "qi")
_CURVES = {"P-256": (ec.SECP256R1(), 32), "P-384": (ec.SECP384R1(), 48), "P-521": (ec.SECP521R1(), 66)}
_BASE64URL = frozenset(string.ascii_letters + string.digits + "-_")


def _jwk_bytes(value: str) -> bytes:
    """go-jose's base64URLDecode: trailing `=` dropped, then unpadded base64url (CR and LF are skipped)."""
    value = value.rstrip("=")
    count = 0
    for index, c in enumerate(value):
        if c in "\r\n":
            continue
        if c not in _BASE64URL:
            raise ValueError(f"illegal base64 data at input byte {index}")
        count += 1
    if count % 4 == 1:
        raise ValueError(f"illegal base64 data at input byte {len(value) - 1}")
    clean = value.replace("\r", "").replace("\n", "")
    return base64.urlsafe_b64decode(clean + "=" * (-len(clean) % 4))


def check_jwk(key: Any) -> bool:
    """Decode one JWK as go-jose's JSONWebKey.UnmarshalJSON does; False when it decodes but is not Valid().

    Raises ValueError with go-jose's message when Go's decoder would refuse the request body.
    """
    if key is None:
        key = {}
    if not isinstance(key, dict):
        raise ValueError(f"json: cannot unmarshal {_json_kind(key)} into Go value of type jose.rawJSONWebKey")
    raw: dict[str, bytes] = {}
    for name in _JWK_STRINGS:
        if key.get(name) is not None and not isinstance(key[name], str):
            raise ValueError(f"json: cannot unmarshal {_json_kind(key[name])} into Go struct field rawJSONWebKey."
                             f"{name} of type string")
    for name in _JWK_BYTES:
        value = key.get(name)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ValueError(f"json: cannot unmarshal {_json_kind(value)} into Go value of type string")
        raw[name] = _jwk_bytes(value)
    x5c = key.get("x5c")
    if x5c is not None and (not isinstance(x5c, list) or not all(isinstance(c, str) for c in x5c)):
        bad = x5c if not isinstance(x5c, list) else next(c for c in x5c if not isinstance(c, str))
        raise ValueError(f"json: cannot unmarshal {_json_kind(bad)} into Go struct field rawJSONWebKey.x5c of type "
                         + ("[]string" if bad is x5c else "string"))
    kty, crv = key.get("kty") or "", key.get("crv") or ""
    if kty == "EC":
        curve, size = _CURVES.get(crv, (None, 0))
        private = "d" in raw
        kind = "private" if private else "public"
        if curve is None:
            raise ValueError(f"go-jose/go-jose: unsupported elliptic curve '{crv}'")
        if "x" not in raw or "y" not in raw or (private and "d" not in raw):
            raise ValueError("go-jose/go-jose: invalid EC private key, missing x/y/d values" if private
                             else "go-jose/go-jose: invalid EC key, missing x/y values")
        for coordinate in ("x", "y"):
            if len(raw[coordinate]) != size:
                raise ValueError(f"go-jose/go-jose: invalid EC {kind} key, wrong length for {coordinate}")
        if private and len(raw["d"]) != size:
            raise ValueError("go-jose/go-jose: invalid EC private key, wrong length for d")
        try:
            ec.EllipticCurvePublicNumbers(int.from_bytes(raw["x"]), int.from_bytes(raw["y"]), curve).public_key()
        except ValueError:
            raise ValueError("go-jose/go-jose: invalid EC key, X/Y are not on declared curve") from None
        return True
    if kty == "RSA":
        if "d" in raw:
            missing = next((m for m in ("n", "e", "d", "p", "q") if m not in raw), None)
            if missing:
                raise ValueError(f"go-jose/go-jose: invalid RSA private key, missing {missing.upper()} value(s)")
        elif "n" not in raw or "e" not in raw:
            raise ValueError("go-jose/go-jose: invalid RSA key, missing n/e values")
        # Valid(): an exponent of 0 (Go's int64 of the big-endian bytes) is not a key.
        return (int.from_bytes(raw["e"]) & 0xFFFFFFFFFFFFFFFF) != 0
    if kty == "oct":
        if "k" not in raw:
            raise ValueError("go-jose/go-jose: invalid OCT (symmetric) key, missing k value")
        return False  # decodes, but Valid() knows no symmetric keys: "Invalid JSON web key in set."
    if kty == "OKP":
        if crv != "Ed25519" or "x" not in raw:
            raise ValueError(f"go-jose/go-jose: unknown curve {crv}'")
        return True
    raise ValueError(f"go-jose/go-jose: unknown json web key type '{kty}'")


def _json_kind(value: Any) -> str:
    return {bool: "bool", int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(
        type(value), "value")


# --- Go's net/url, as far as Hydra's validator sees it ------------------------------------------------------------
# Hydra checks client URIs with url.Parse / url.ParseRequestURI, which accept what urllib would call relative or
# opaque ("/cb", "http:foo") and refuse what urllib lets through (a bad port, a bad %-escape); its messages quote
# Go's errors. These helpers reproduce that parser's verdict and the parts the validator reads.

_HOST_OK = frozenset(string.ascii_letters + string.digits + "-_.~!$&'()*+,;=:[]<>\"")
_USERINFO_OK = frozenset(string.ascii_letters + string.digits + "-._:~!$&'()*+,;=%@")
_USER_PASSWORD_OK = frozenset(string.ascii_letters + string.digits + "-_.~$&+,;=")
_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
               "\\": "\\\\", '"': '\\"'}


@dataclass(frozen=True)
class GoURL:
    """The fields of Go's url.URL that client validation looks at (host unescaped, user as Go prints it)."""

    scheme: str = ""
    opaque: str = ""
    user: str | None = None  # Go's Userinfo.String() (escaped), None when the URL has no `@`
    host: str = ""
    path: str = ""
    raw_query: str = ""
    force_query: bool = False
    fragment: str = ""

    def hostname(self) -> str:
        return _split_host_port(self.host)[0]

    def port(self) -> str:
        return _split_host_port(self.host)[1]

    def string(self) -> str:
        """Go's URL.String() for a URL without path, query or fragment text (what an origin may have)."""
        out = f"{self.scheme}:" if self.scheme else ""
        if self.opaque:
            out += self.opaque
        elif self.host or self.user is not None or self.path:
            out += "//"
            if self.user is not None:
                out += self.user + "@"
            out += "".join(c if c in _HOST_OK else "".join(f"%{b:02X}" for b in c.encode("utf-8", "surrogateescape"))
                           for c in self.host)
        out += self.path
        if self.force_query or self.raw_query:
            out += "?" + self.raw_query
        return out


class GoURLError(ValueError):
    """A url.Error: `parse "<url>": <reason>`, as Go prints it."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"parse {go_quote(url)}: {reason}")


def go_quote(text: str) -> str:
    """strconv.Quote for the characters a URL or a JWK member can hold."""
    out = []
    for c in text:
        if c in _GO_ESCAPES:
            out.append(_GO_ESCAPES[c])
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\x{ord(c):02x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _split_host_port(host_port: str) -> tuple[str, str]:
    host, port = host_port, ""
    colon = host.rfind(":")
    if colon != -1 and _valid_optional_port(host[colon:]):
        host, port = host[:colon], host[colon + 1:]
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, port


def _valid_optional_port(port: str) -> bool:
    return port == "" or (port[0] == ":" and all("0" <= c <= "9" for c in port[1:]))


def _unescape(text: str, host: bool = False) -> str:
    """Go's unescape: every `%` must start a hex pair; a host allows only its own characters."""
    i = 0
    while i < len(text):
        c = text[i]
        if c == "%":
            pair = text[i + 1:i + 3]
            if len(pair) < 2 or not all(ch in string.hexdigits for ch in pair):
                raise ValueError(f"invalid URL escape {go_quote(text[i:i + 3])}")
            if host and int(pair[0], 16) < 8 and pair != "25":
                raise ValueError(f"invalid URL escape {go_quote(text[i:i + 3])}")
            i += 3
            continue
        if host and ord(c) < 0x80 and c not in _HOST_OK:
            raise ValueError(f"invalid character {go_quote(c)} in host name")
        i += 1
    return text


def _parse_authority(authority: str) -> tuple[str | None, str]:
    at = authority.rfind("@")
    rest = authority[at + 1:] if at >= 0 else authority
    if rest.startswith("["):
        close = rest.rfind("]")
        if close < 0:
            raise ValueError("missing ']' in host")
        if not _valid_optional_port(rest[close + 1:]):
            raise ValueError(f"invalid port {go_quote(rest[close + 1:])} after host")
    elif (colon := rest.rfind(":")) != -1 and not _valid_optional_port(rest[colon:]):
        raise ValueError(f"invalid port {go_quote(rest[colon:])} after host")
    _unescape(rest, host=True)
    if at < 0:
        return None, rest
    userinfo = authority[:at]
    if not all(c in _USERINFO_OK for c in userinfo):
        raise ValueError("net/url: invalid userinfo")
    name, colon_found, password = userinfo.partition(":")
    for part in (name, password):
        _unescape(part)
    shown = _reescape(name) + (":" + _reescape(password) if colon_found else "")
    return shown, _percent_decode(rest)


def _reescape(part: str) -> str:
    """Userinfo as Go's Userinfo.String() writes it back (unescaped, then escaped again)."""
    raw = _percent_decode(part).encode("utf-8", "surrogateescape")
    return "".join(chr(b) if chr(b) in _USER_PASSWORD_OK else f"%{b:02X}" for b in raw)


def _percent_decode(text: str) -> str:
    """The unescaped text; bytes that are not UTF-8 survive as surrogates (Go strings are bytes)."""
    out, i = bytearray(), 0
    while i < len(text):
        if text[i] == "%":
            out.append(int(text[i + 1:i + 3], 16))
            i += 3
        else:
            out.extend(text[i].encode("utf-8", "surrogateescape"))
            i += 1
    return out.decode("utf-8", "surrogateescape")


def go_parse(raw: str, *, request_uri: bool = False) -> GoURL:
    """url.Parse (or url.ParseRequestURI with `request_uri`, which keeps `#` in the path); raises GoURLError."""
    text, fragment = (raw, "") if request_uri else raw.partition("#")[::2]
    try:
        url = _go_parse(text, request_uri)
    except ValueError as exc:
        raise GoURLError(text, str(exc)) from None
    if fragment:
        try:
            _unescape(fragment)
        except ValueError as exc:
            raise GoURLError(raw, str(exc)) from None
        return replace(url, fragment=fragment)
    return url


def _go_parse(raw: str, via_request: bool) -> GoURL:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise ValueError("net/url: invalid control character in URL")
    if raw == "" and via_request:
        raise ValueError("empty url")
    if raw == "*":
        return GoURL(path="*")
    scheme, rest = "", raw
    for i, c in enumerate(raw):
        if c.isascii() and c.isalpha():
            continue
        if c.isascii() and (c.isdigit() or c in "+-."):
            if i == 0:
                break
            continue
        if c == ":":
            if i == 0:
                raise ValueError("missing protocol scheme")
            scheme, rest = raw[:i].lower(), raw[i + 1:]
        break
    force_query, raw_query = False, ""
    if rest.endswith("?") and rest.count("?") == 1:
        force_query, rest = True, rest[:-1]
    else:
        rest, _, raw_query = rest.partition("?")
    if not rest.startswith("/"):
        if scheme:
            return GoURL(scheme=scheme, opaque=rest, raw_query=raw_query, force_query=force_query)
        if via_request:
            raise ValueError("invalid URI for request")
        if ":" in rest.partition("/")[0]:
            raise ValueError("first path segment in URL cannot contain colon")
    user, host = None, ""
    if (scheme or (not via_request and not rest.startswith("///"))) and rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        rest = slash + path
        user, host = _parse_authority(authority)
    _unescape(rest)
    return GoURL(scheme=scheme, user=user, host=host, path=rest, raw_query=raw_query, force_query=force_query)
