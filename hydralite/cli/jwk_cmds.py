"""`create|get|delete|import jwk` against /admin/keys."""

from __future__ import annotations

import argparse
from typing import Any
from urllib.parse import quote

from hydralite.cli import key_files
from hydralite.cli.api import request
from hydralite.cli.render import emit
from hydralite.cli.verbs import noun

HEADER = ("SET ID", "KEY ID", "ALGORITHM", "USE")
_PRIVATE = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def _show(args: argparse.Namespace, sets: dict[str, dict[str, Any]]) -> None:
    if getattr(args, "public", False):
        sets = {name: {"keys": [{k: v for k, v in key.items() if k not in _PRIVATE} for key in jwks["keys"]]}
                for name, jwks in sets.items()}
    data: Any = next(iter(sets.values())) if len(sets) == 1 else {"sets": sets}
    rows = [[name, k.get("kid"), k.get("alg"), k.get("use")] for name, jwks in sets.items() for k in jwks["keys"]]
    emit(args, data, HEADER, lambda _: rows, quiet=lambda _: "\n".join(str(r[1]) for r in rows))


def create(args: argparse.Namespace) -> int:
    body = {"alg": args.alg, "use": args.use}
    if args.kid:
        body["kid"] = args.kid
    created = request(args, "POST", f"/admin/keys/{quote(args.set, safe='')}", json=body).json()
    _show(args, {args.set: created})
    return 0


def get(args: argparse.Namespace) -> int:
    _show(args, {name: request(args, "GET", f"/admin/keys/{quote(name, safe='')}").json() for name in args.sets})
    return 0


def delete(args: argparse.Namespace) -> int:
    for name in args.sets:
        request(args, "DELETE", f"/admin/keys/{quote(name, safe='')}")
        print(name)
    return 0


def import_keys(args: argparse.Namespace) -> int:
    for path in args.files:
        for key in key_files.load(path):
            if args.use and "use" not in key:
                key["use"] = args.use
            if args.alg and "alg" not in key:
                key["alg"] = args.alg
            request(args, "PUT", f"/admin/keys/{quote(args.set, safe='')}/{quote(key.get('kid', ''), safe='')}",
                    json=key)
    _show(args, {args.set: request(args, "GET", f"/admin/keys/{quote(args.set, safe='')}").json()})
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = noun(sub, "create", "jwk", "generate a key and add it to a JSON Web Key Set", aliases=("jwks",))
    p.add_argument("set", metavar="SET")
    p.add_argument("kid", nargs="?", metavar="KEY_ID")
    p.add_argument("--alg", default="RS256", help="RS256 (default), RS512, ES256, ES512, EdDSA, …")
    p.add_argument("--use", default="sig", choices=["sig", "enc"])
    p.add_argument("--public", action="store_true", help="print only the public keys")
    p.set_defaults(func=create)
    p = noun(sub, "get", "jwk", "get JSON Web Key Sets", aliases=("jwks",))
    p.add_argument("sets", nargs="+", metavar="SET")
    p.add_argument("--public", action="store_true", help="print only the public keys")
    p.set_defaults(func=get)
    p = noun(sub, "delete", "jwk", "delete JSON Web Key Sets", aliases=("jwks",))
    p.add_argument("sets", nargs="+", metavar="SET")
    p.set_defaults(func=delete)
    p = noun(sub, "import", "jwk", "import JSON Web Keys from JSON files into a set", aliases=("jwks",))
    p.add_argument("set", metavar="SET")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--use", default="", choices=["", "sig", "enc"])
    p.add_argument("--alg", default="")
    p.add_argument("--public", action="store_true")
    p.set_defaults(func=import_keys)
