"""Key files for `import jwk`: a JWK or JWK Set in JSON, or (as Hydra's CLI accepts) a PEM or DER key."""

from __future__ import annotations

import json
import uuid
from typing import Any

from joserfc.jwk import ECKey, OKPKey, RSAKey

from hydralite.cli import CommandError


def _from_pem_or_der(raw: bytes, path: str) -> dict[str, Any]:
    for cls in (RSAKey, ECKey, OKPKey):
        try:
            key = cls.import_key(raw)
        except Exception:  # noqa: BLE001, S112 - joserfc raises several types for "not this kind of key"
            continue
        return dict(key.as_dict(private=bool(key.is_private)))
    raise CommandError(f"{path} is neither JSON nor a PEM or DER encoded RSA, EC or Ed25519 key")


def load(path: str) -> list[dict[str, Any]]:
    """The keys in `path`, each with a kid (a new UUID when the file has none, as Hydra does)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
    if raw.lstrip()[:1] in (b"{", b"["):
        try:
            data = json.loads(raw)
        except ValueError as exc:
            raise CommandError(f"{path} is not valid JSON: {exc}") from exc
        keys = data.get("keys", [data]) if isinstance(data, dict) else data
    else:
        keys = [_from_pem_or_der(raw, path)]
    if not isinstance(keys, list) or not all(isinstance(k, dict) for k in keys):
        raise CommandError(f"{path} holds no JSON Web Key")
    for key in keys:
        key.setdefault("kid", str(uuid.uuid4()))
    return keys
