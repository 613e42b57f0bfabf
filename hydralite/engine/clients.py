"""OAuth 2.0 client metadata: decoding, Hydra's defaults and validation, serialisation.

The stored `metadata` document is the client exactly as Hydra serialises it, minus the
secret, so reading a client costs one row and no reshaping.
"""

from __future__ import annotations

import ipaddress
import secrets as _secrets
import string
import uuid
from collections.abc import Collection, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from hydralite.config import Config, format_duration, parse_duration
from hydralite.crypto.hashing import MAX_SECRET_LENGTH
from hydralite.engine import pairwise
from hydralite.engine.go_jwk import check_jwk
from hydralite.engine.go_url import GoURL, GoURLError, go_parse, go_quote
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
    # Differs from Hydra on purpose (SECURITY.md C7): a self-registered client without credentials asking for the
    # grant that authenticates only with them is refused here, not only later at the token endpoint.
    grants = fields.get("grant_types")
    if fields.get("token_endpoint_auth_method") == "none" and isinstance(grants, list) \
            and "client_credentials" in grants:
        raise invalid_client_metadata(
            "The grant type client_credentials requires client authentication and cannot be used with "
            "token_endpoint_auth_method none.")


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
