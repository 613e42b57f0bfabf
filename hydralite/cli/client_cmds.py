"""`create|get|list|update|delete|import oauth2-client(s)`: one kebab-case flag per client field, or --file."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any
from urllib.parse import quote

from hydralite.cli import CommandError
from hydralite.cli.api import request
from hydralite.cli.render import emit
from hydralite.cli.verbs import noun

HEADER = ("CLIENT ID", "CLIENT SECRET", "GRANT TYPES", "RESPONSE TYPES", "SCOPE", "AUDIENCE", "REDIRECT URIS")

#: flag → (client field, kind); list flags take repeats or comma-separated values, as Hydra's string slices.
FIELDS: dict[str, tuple[str, str]] = {
    "id": ("client_id", "str"), "name": ("client_name", "str"), "secret": ("client_secret", "str"),
    "grant-type": ("grant_types", "list"), "response-type": ("response_types", "list"),
    "scope": ("scope", "scope"), "audience": ("audience", "list"), "redirect-uri": ("redirect_uris", "list"),
    "post-logout-callback": ("post_logout_redirect_uris", "list"),
    "token-endpoint-auth-method": ("token_endpoint_auth_method", "str"), "jwks-uri": ("jwks_uri", "str"),
    "allowed-cors-origin": ("allowed_cors_origins", "list"), "subject-type": ("subject_type", "str"),
    "owner": ("owner", "str"), "contact": ("contacts", "list"), "metadata": ("metadata", "json"),
    "policy-uri": ("policy_uri", "str"), "tos-uri": ("tos_uri", "str"), "client-uri": ("client_uri", "str"),
    "logo-uri": ("logo_uri", "str"), "request-uri": ("request_uris", "list"),
    "request-object-signing-alg": ("request_object_signing_alg", "str"),
    "sector-identifier-uri": ("sector_identifier_uri", "str"),
    "frontchannel-logout-callback": ("frontchannel_logout_uri", "str"),
    "backchannel-logout-callback": ("backchannel_logout_uri", "str"),
    "frontchannel-logout-session-required": ("frontchannel_logout_session_required", "bool"),
    "backchannel-logout-session-required": ("backchannel_logout_session_required", "bool"),
    "skip-consent": ("skip_consent", "bool"), "skip-logout-consent": ("skip_logout_consent", "bool"),
    "access-token-strategy": ("access_token_strategy", "str"),
    # hydralite extras: Hydra v25.4's CLI has no flags for these two fields (there, only --file sets them).
    "userinfo-signed-response-alg": ("userinfo_signed_response_alg", "str"),
    "token-endpoint-auth-signing-alg": ("token_endpoint_auth_signing_alg", "str"),
}
#: Hydra 1.x spellings still found in tutorials.
OLD_FLAGS = {"grant-type": ["--grant-types", "-g"], "response-type": ["--response-types", "-r"],
             "redirect-uri": ["--callbacks", "-c"], "post-logout-callback": ["--post-logout-callbacks"],
             "secret": ["--client-secret"], "id": ["--client-id"], "scope": ["-a"], "name": ["-n"],
             "allowed-cors-origin": ["--allowed-cors-origins"]}


def add_field_flags(parser: argparse.ArgumentParser) -> None:
    for flag, (_, kind) in FIELDS.items():
        names = [f"--{flag}", *OLD_FLAGS.get(flag, [])]
        dest = "f_" + flag.replace("-", "_")
        if kind == "bool":
            parser.add_argument(*names, dest=dest, action="store_true", default=None)
        elif kind in ("list", "scope"):
            parser.add_argument(*names, dest=dest, action="append", metavar="VALUE")
        else:
            parser.add_argument(*names, dest=dest, metavar="VALUE")
    parser.add_argument("--file", help="read the client from a JSON file ('-' for stdin)")


def _split(values: list[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def fields_from_flags(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for flag, (field, kind) in FIELDS.items():
        value = getattr(args, "f_" + flag.replace("-", "_"))
        if value is None:
            continue
        if kind == "list":
            out[field] = _split(value)
        elif kind == "scope":
            out[field] = " ".join(s for v in _split(value) for s in v.split())
        elif kind == "json":
            try:
                out[field] = json.loads(value)
            except ValueError as exc:
                raise CommandError(f"--{flag} must be JSON: {exc}") from exc
        else:
            out[field] = value
    return out


def read_file(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else open(path, encoding="utf-8").read()  # noqa: SIM115
        return json.loads(text)
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
    except ValueError as exc:
        raise CommandError(f"{path} is not valid JSON: {exc}") from exc


def _rows(data: Any) -> list[list[Any]]:
    items = data if isinstance(data, list) else data.get("items", [data]) if "items" in data else [data]
    return [[c.get("client_id"), c.get("client_secret"), c.get("grant_types"), c.get("response_types"),
             c.get("scope"), c.get("audience"), c.get("redirect_uris")] for c in items]


def show(args: argparse.Namespace, data: Any) -> None:
    emit(args, data, HEADER, _rows,
         quiet=lambda d: "\n".join(c["client_id"] for c in (d if isinstance(d, list) else [d])))


def create(args: argparse.Namespace) -> int:
    body = read_file(args.file) if args.file else {}
    body.update(fields_from_flags(args))
    if not args.file:
        body.setdefault("grant_types", ["authorization_code"])
        body.setdefault("response_types", ["code"])
    show(args, request(args, "POST", "/admin/clients", json=body).json())
    return 0


def get(args: argparse.Namespace) -> int:
    found = [request(args, "GET", f"/admin/clients/{quote(cid, safe='')}").json() for cid in args.ids]
    show(args, found[0] if len(found) == 1 else found)
    return 0


def list_clients(args: argparse.Namespace) -> int:
    params = {"page_size": args.page_size}
    if args.page_token:
        params["page_token"] = args.page_token
    response = request(args, "GET", "/admin/clients", params=params)
    next_token = None
    for part in response.headers.get("link", "").split(","):
        if 'rel="next"' in part and "page_token=" in part:
            next_token = part.split("page_token=", 1)[1].split(">", 1)[0].split("&", 1)[0]
    from urllib.parse import unquote

    data = {"items": response.json(), "next_page_token": unquote(next_token) if next_token else "",
            "is_last_page": next_token is None}
    emit(args, data, HEADER, _rows, quiet=lambda d: "\n".join(c["client_id"] for c in d["items"]))
    return 0


def update(args: argparse.Namespace) -> int:
    path = f"/admin/clients/{quote(args.client_id, safe='')}"
    if args.file:
        body = read_file(args.file)
    else:
        body = request(args, "GET", path).json()
        body.update(fields_from_flags(args))
    show(args, request(args, "PUT", path, json=body).json())
    return 0


def delete(args: argparse.Namespace) -> int:
    for cid in args.ids:
        request(args, "DELETE", f"/admin/clients/{quote(cid, safe='')}")
        print(cid)
    return 0


def import_clients(args: argparse.Namespace) -> int:
    created = []
    for path in args.files:
        data = read_file(path)
        for body in data if isinstance(data, list) else [data]:
            created.append(request(args, "POST", "/admin/clients", json=body).json())
    show(args, created[0] if len(created) == 1 else created)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = noun(sub, "create", "oauth2-client", "create an OAuth 2.0 client", aliases=("client",))
    add_field_flags(p)
    p.set_defaults(func=create)
    p = noun(sub, "get", "oauth2-client", "get OAuth 2.0 clients", aliases=("client", "oauth2-clients"))
    p.add_argument("ids", nargs="+", metavar="ID")
    p.set_defaults(func=get)
    p = noun(sub, "list", "oauth2-clients", "list OAuth 2.0 clients", aliases=("clients", "oauth2-client"))
    p.add_argument("--page-size", type=int, default=100)
    p.add_argument("--page-token", default="")
    p.set_defaults(func=list_clients)
    p = noun(sub, "update", "oauth2-client", "update an OAuth 2.0 client (flags, or --file to replace it)",
             aliases=("client",))
    p.add_argument("client_id", metavar="ID")
    add_field_flags(p)
    p.set_defaults(func=update)
    p = noun(sub, "delete", "oauth2-client", "delete OAuth 2.0 clients", aliases=("client", "oauth2-clients"))
    p.add_argument("ids", nargs="+", metavar="ID")
    p.set_defaults(func=delete)
    p = noun(sub, "import", "oauth2-client", "create OAuth 2.0 clients from JSON files",
             aliases=("client", "oauth2-clients"))
    p.add_argument("files", nargs="+", metavar="FILE")
    p.set_defaults(func=import_clients)
