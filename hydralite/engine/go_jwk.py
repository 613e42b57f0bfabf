"""A client's `jwks` as Hydra decodes it: go-jose's JSONWebKey.UnmarshalJSON and Valid(), with go-jose's messages.

Hydra decodes the client body with Go's JSON decoder into go-jose types, so a key go-jose cannot decode is a 400
"Unable to decode the request body: …" and a key that decodes but is not usable is "Invalid JSON web key in set."
(engine/clients.py). Written here from go-jose v3's documented and observed behaviour.
"""

from __future__ import annotations

import base64
import string
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

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
