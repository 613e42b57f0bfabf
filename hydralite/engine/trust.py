"""RFC 7523 trust relationships (Hydra's oauth2/trust): the admin API's create/get/list/delete, and finding the
trusted key that verifies a jwt-bearer assertion.

Fields, defaults, validation order and error bodies follow Hydra's handler.go, validator.go and the SQL persister.
Differs from Hydra on purpose: the issuer's public key is kept in the relationship's row (Hydra adds it to its JWK
table under a set named after the issuer and shares it between relationships), and an expired relationship never
verifies an assertion (Hydra skips the expiry check when the assertion names a `kid`).
"""

from __future__ import annotations

import re
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, OKPKey, RSAKey

from hydralite.crypto.sealing import Sealer
from hydralite.engine.core import Engine
from hydralite.engine.repository import Row
from hydralite.errors import OAuthError, bad_request, conflict, not_found

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
PATH = "/trust/grants/jwt-bearer/issuers"
DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE = 100, 500  # keysetpagination_v2's defaults
_PAGE_TOKEN_TTL = 3600
_COLUMN_LIMIT = 255  # Hydra's VARCHAR(255) for issuer, subject and key id
_NIL = uuid.UUID(int=0)
_RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})\Z")
_PRIVATE_MEMBERS = ("d", "p", "q", "dp", "dq", "qi", "oth", "k")
#: The JWS algs each public key type verifies (never `none` or HMAC).
KEY_ALGS: dict[str, tuple[str, ...]] = {
    "RSA": ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    "EC": ("ES256", "ES384", "ES512"),
    "OKP": ("EdDSA",),
}
_CURVE_ALG = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}


def missing(hint: str) -> OAuthError:
    """trust.ErrMissingRequiredParameter with a hint, as validator.go raises it."""
    return OAuthError(hint, error="missing_required_parameter", status_code=400,
                      description="One of the required parameters is missing. Check your request parameters.")


def undecodable(message: str) -> OAuthError:
    """A body Go's decoder refuses: Hydra writes the Go error as `{"error": "error", "error_description": …}`."""
    return OAuthError(error="error", description=message, status_code=400)


def _go_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    return {int: "number", float: "number", str: "string", list: "array", dict: "object"}.get(type(value), "value")


def _field(body: dict[str, Any], name: str, kind: type, go: str) -> Any:
    value = body.get(name)
    if value is not None and (not isinstance(value, kind) or (kind is not bool and isinstance(value, bool))):
        raise undecodable(f"json: cannot unmarshal {_go_type(value)} into Go struct field "
                          f"createGrantRequest.{name} of type {go}")
    return value


def parse_time(value: Any) -> datetime | None:
    """Go's time.Time JSON decoding (RFC 3339), rounded to the second as Hydra stores it; None for null."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise undecodable("Time.UnmarshalJSON: input is not a JSON string")
    m = _RFC3339.match(value)
    error = undecodable(f'parsing time "{value[:64]}" as "2006-01-02T15:04:05Z07:00": cannot parse')
    if m is None:
        raise error
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    nanos = int((m.group(7) or "0").ljust(9, "0"))
    zone = m.group(8)
    try:
        offset = timedelta(0) if zone == "Z" else (1 if zone[0] == "+" else -1) * timedelta(
            hours=int(zone[1:3]), minutes=int(zone[4:6]))
        moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC) - offset
        return moment + timedelta(seconds=1) if nanos >= 500_000_000 else moment  # time.Round(time.Second)
    except (ValueError, OverflowError) as exc:
        raise error from exc


def format_time(moment: datetime) -> str:
    """Go's JSON time in UTC: `2030-01-01T00:00:00Z`."""
    return moment.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat() + "Z"


def public_jwk(value: Any) -> dict[str, Any]:
    """The trusted key as go-jose decodes a JWK, reduced to its public members (Hydra keeps what it is sent)."""
    if value is None:
        return {}  # Go's zero JSONWebKey: the validator then asks for a kid
    if not isinstance(value, dict):
        raise undecodable(f"json: cannot unmarshal {_go_type(value)} into Go value of type jose.rawJSONWebKey")
    for name in ("kty", "kid", "alg", "use", "crv"):
        if value.get(name) is not None and not isinstance(value[name], str):
            raise undecodable(f"json: cannot unmarshal {_go_type(value[name])} into Go struct field "
                              f"rawJSONWebKey.{name} of type string")
    kty = value.get("kty") or ""
    if kty == "oct":
        # Differs from Hydra on purpose: a shared secret is not a public key, and it would sit unsealed in the row.
        raise bad_request("Field 'jwk' must be a public key (kty RSA, EC or OKP); symmetric keys are not accepted.")
    if kty not in KEY_ALGS:
        raise undecodable(f"go-jose/go-jose: unknown json web key type '{kty[:32]}'")
    key = {k: v for k, v in value.items() if k not in _PRIVATE_MEMBERS}
    try:
        _import(key)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise undecodable(f"go-jose/go-jose: invalid {kty} key") from exc
    return key


def _import(jwk: dict[str, Any]) -> Any:
    members = {k: v for k, v in jwk.items() if k != "x5c"}
    if jwk["kty"] == "RSA":
        return RSAKey.import_key(members)
    if jwk["kty"] == "EC":
        return ECKey.import_key(members)
    return OKPKey.import_key(members)


class TrustAdmin:
    """The /admin/trust/grants/jwt-bearer/issuers API."""

    def __init__(self, engine: Engine):
        self.engine = engine
        config = engine.config
        self.pages = Sealer(config.secrets_pagination or config.secrets_system, purpose="pagination-trust")

    async def create(self, body: Any) -> dict[str, Any]:
        if body is None:
            body = {}  # JSON null decodes into Go's zero value
        if not isinstance(body, dict):
            raise undecodable(f"json: cannot unmarshal {_go_type(body)} into Go value of type "
                              "trust.createGrantRequest")
        issuer = _field(body, "issuer", str, "string") or ""
        subject = _field(body, "subject", str, "string") or ""
        any_subject = bool(_field(body, "allow_any_subject", bool, "bool"))
        scope = _field(body, "scope", list, "[]string")
        for item in scope or []:
            if not isinstance(item, str):
                raise undecodable(f"json: cannot unmarshal {_go_type(item)} into Go struct field "
                                  "createGrantRequest.scope of type string")
        jwk = public_jwk(body.get("jwk"))
        expires_at = parse_time(body.get("expires_at"))
        # validator.go, in its order
        if not issuer:
            raise missing("Field 'issuer' is required.")
        if not subject and not any_subject:
            raise missing("One of 'subject' or 'allow_any_subject' field must be set.")
        if subject and any_subject:
            raise missing("Both 'subject' and 'allow_any_subject' fields cannot be set at the same time.")
        if expires_at is None or expires_at == datetime(1, 1, 1, tzinfo=UTC):
            raise missing("Field 'expires_at' is required.")
        kid = jwk.get("kid") or ""
        if not kid:
            raise missing("Field 'jwk' must contain JWK with kid header.")
        if max(len(issuer), len(subject), len(kid)) > _COLUMN_LIMIT or "\x00" in issuer + subject + kid:
            # Hydra's columns are VARCHAR(255) and a longer value fails in the database; hydralite says why.
            raise bad_request("Fields 'issuer', 'subject' and the jwk's 'kid' must be at most 255 characters.")
        trust_id = uuid.uuid4()
        created_at = datetime.now(UTC).replace(microsecond=0)
        stored = [s for s in scope or [] if s]  # Hydra's pipe-delimited column drops empty values
        if not await self.engine.repo.insert_trust(trust_id, issuer, subject, any_subject, stored, kid, jwk,
                                                   created_at, expires_at):
            raise conflict()
        return {"id": str(trust_id), "issuer": issuer, "subject": subject, "allow_any_subject": any_subject,
                "scope": scope, "public_key": {"set": issuer, "kid": kid}, "created_at": format_time(created_at),
                "expires_at": format_time(expires_at)}

    async def get(self, raw_id: str) -> dict[str, Any]:
        row = await self.engine.repo.get_trust(parse_id(raw_id))
        if row is None:
            raise not_found()
        return render(row)

    async def delete(self, raw_id: str) -> None:
        if not await self.engine.repo.delete_trust(parse_id(raw_id)):
            raise not_found()

    async def list(self, page_size: str | None, page_token: str | None, issuer: str | None
                   ) -> tuple[list[dict[str, Any]], str | None, int]:
        """One page ordered by id, the next page's token (None on the last page) and the page size."""
        size = DEFAULT_PAGE_SIZE
        if page_size:
            try:
                size = int(page_size)
            except ValueError as exc:
                raise bad_request(f'Unable to parse pagination parameters: strconv.Atoi: parsing "{page_size[:32]}": '
                                  "invalid syntax") from exc
            size = DEFAULT_PAGE_SIZE if size <= 0 else min(size, MAX_PAGE_SIZE)
        after = self._open_page_token(page_token) if page_token else _NIL
        if issuer and "\x00" in issuer:
            return [], None, size  # no stored issuer can hold a NUL
        rows = await self.engine.repo.list_trusts(size + 1, after, issuer or None)
        next_token = self._page_token(rows[size - 1]["id"]) if len(rows) > size else None
        return [render(r) for r in rows[:size]], next_token, size

    def _page_token(self, last: uuid.UUID) -> str:
        return self.pages.seal(orjson.dumps({"e": int(time.time()) + _PAGE_TOKEN_TTL, "id": str(last)}))

    def _open_page_token(self, token: str) -> uuid.UUID:
        plain = self.pages.open(token)
        data = orjson.loads(plain) if plain else None
        try:
            if not isinstance(data, dict) or data.get("e", 0) < time.time():
                raise ValueError("expired")
            return uuid.UUID(str(data.get("id")))
        except ValueError as exc:
            raise bad_request("Unable to parse pagination parameters: invalid pagination token") from exc


def parse_id(raw: str) -> uuid.UUID:
    """gofrs/uuid FromString: canonical, hash-like, braced or urn:uuid: forms; its errors otherwise."""
    size = len(raw.encode("utf-8", "surrogatepass"))
    shown = raw[:64].replace("\\", "\\\\").replace('"', '\\"')
    if size not in (32, 34, 36, 38, 41, 45):
        raise bad_request(f'Unable to parse parameter id: uuid: incorrect UUID length {size} in string "{shown}"')
    canonical = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    forms = (rf"{canonical}", r"[0-9a-fA-F]{32}", rf"\{{{canonical}\}}", r"\{[0-9a-fA-F]{32}\}",
             rf"(?i:urn:uuid:){canonical}", r"(?i:urn:uuid:)[0-9a-fA-F]{32}")
    if not any(re.fullmatch(form, raw) for form in forms):
        raise bad_request(f'Unable to parse parameter id: uuid: incorrect UUID format in string "{shown}"')
    return uuid.UUID(raw[9:] if raw.lower().startswith("urn:uuid:") else raw)


def render(row: Row) -> dict[str, Any]:
    """Hydra's trust.Grant JSON (public_key.set is the issuer, as Hydra names the key set)."""
    return {"id": str(row["id"]), "issuer": row["issuer"], "subject": row["subject"],
            "allow_any_subject": row["allow_any_subject"], "scope": list(row["scope"]),
            "public_key": {"set": row["issuer"], "kid": row["key_id"]},
            "created_at": format_time(row["created_at"]), "expires_at": format_time(row["expires_at"])}


def verify_with(token: str, jwk: dict[str, Any], alg: Any) -> dict[str, Any] | None:
    """The payload when `jwk` verifies the compact JWS with `alg`: an alg of the key's type (and curve), equal to
    the key's own `alg` when it names one (go-jose does not check the latter); None otherwise."""
    kty = jwk.get("kty")
    if not isinstance(alg, str) or alg not in KEY_ALGS.get(kty if isinstance(kty, str) else "", ()):
        return None
    if (kty == "EC" and _CURVE_ALG.get(jwk.get("crv", "")) != alg) or jwk.get("alg", alg) != alg:
        return None
    try:
        # joserfc refuses algs outside its "recommended" list unless they are named (PS384, ES512, EdDSA, ...).
        payload = jws.deserialize_compact(token, _import(jwk), algorithms=[alg]).payload
        claims = orjson.loads(payload)
    except (JoseError, ValueError, TypeError, KeyError):
        return None
    return claims if isinstance(claims, dict) else None


async def trusted_keys(engine: Engine, issuer: str, subject: str, kid: str | None) -> list[Row]:
    """Live relationships for (issuer, subject[, kid]); nothing for values no row can hold."""
    if max(len(issuer), len(subject), len(kid or "")) > _COLUMN_LIMIT or "\x00" in issuer + subject + (kid or ""):
        return []
    return list(await engine.repo.trusted_keys(issuer, subject, kid))

