"""`perform client-credentials`, `introspect token`, `revoke token`, `delete access-tokens`."""

from __future__ import annotations

import argparse
import os
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus, urlencode

from hydralite.cli import CommandError
from hydralite.cli.api import request
from hydralite.cli.render import emit
from hydralite.cli.verbs import noun

TOKEN_HEADER = ("ACCESS TOKEN", "REFRESH TOKEN", "ID TOKEN", "EXPIRY")
INTROSPECT_HEADER = ("ACTIVE", "SUBJECT", "CLIENT ID", "SCOPE", "EXPIRY", "TOKEN USE")


def add_client_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--client-id", default=os.environ.get("OAUTH2_CLIENT_ID"),
                        help="client id (default $OAUTH2_CLIENT_ID)")
    parser.add_argument("--client-secret", default=os.environ.get("OAUTH2_CLIENT_SECRET"),
                        help="client secret (default $OAUTH2_CLIENT_SECRET)")


def credentials(args: argparse.Namespace) -> tuple[str, str]:
    if not args.client_id or args.client_secret is None:
        raise CommandError("--client-id and --client-secret are required (or set OAUTH2_CLIENT_ID and "
                           "OAUTH2_CLIENT_SECRET)")
    return args.client_id, args.client_secret


def basic(client_id: str, secret: str) -> tuple[str, str]:
    """HTTP Basic credentials form-encoded first (RFC 6749 §2.3.1), as Go's oauth2 sends them: an id with ':'
    or a secret with '+' or '%' would otherwise reach the server changed."""
    return quote_plus(client_id), quote_plus(secret)


def as_go_token(body: dict[str, Any]) -> dict[str, Any]:
    """The token as Go's oauth2.Token serialises it (what Hydra's CLI prints with --format json)."""
    out: dict[str, Any] = {"access_token": body.get("access_token"), "token_type": body.get("token_type")}
    if body.get("refresh_token"):
        out["refresh_token"] = body["refresh_token"]
    if body.get("expires_in"):
        out["expiry"] = datetime.fromtimestamp(time.time() + body["expires_in"], UTC).isoformat(
            timespec="seconds").replace("+00:00", "Z")
    if body.get("id_token"):
        out["id_token"] = body["id_token"]
    return out


def show_token(args: argparse.Namespace, token: dict[str, Any]) -> None:
    emit(args, token, TOKEN_HEADER,
         lambda t: [[t.get("access_token"), t.get("refresh_token"), t.get("id_token"), t.get("expiry")]],
         quiet=lambda t: t["access_token"])


def client_credentials(args: argparse.Namespace) -> int:
    client_id, secret = credentials(args)
    form: list[tuple[str, str]] = [("grant_type", "client_credentials")]
    scopes = [s for v in args.scope or [] for s in v.replace(",", " ").split()]
    if scopes:
        form.append(("scope", " ".join(scopes)))
    form += [("audience", a) for v in args.audience or [] for a in v.split(",") if a]
    response = request(args, "POST", "/oauth2/token", public=True, content=urlencode(form),
                       headers={"Content-Type": "application/x-www-form-urlencoded"}, auth=basic(client_id, secret))
    show_token(args, as_go_token(response.json()))
    return 0


def introspect(args: argparse.Namespace) -> int:
    form = {"token": args.token}
    if args.scope:
        form["scope"] = " ".join(s for v in args.scope for s in v.replace(",", " ").split())
    data = request(args, "POST", "/admin/oauth2/introspect", data=form).json()

    def rows(d: dict[str, Any]) -> list[list[Any]]:
        expiry = datetime.fromtimestamp(d["exp"], UTC).isoformat().replace("+00:00", "Z") if d.get("exp") else None
        return [[d.get("active"), d.get("sub"), d.get("client_id"), d.get("scope"), expiry, d.get("token_use")]]

    emit(args, data, INTROSPECT_HEADER, rows, quiet=lambda d: str(d.get("active")).lower())
    return 0


def revoke(args: argparse.Namespace) -> int:
    client_id, secret = credentials(args)
    request(args, "POST", "/oauth2/revoke", public=True, data={"token": args.token}, auth=basic(client_id, secret))
    print(args.token)
    return 0


def delete_access_tokens(args: argparse.Namespace) -> int:
    request(args, "DELETE", "/admin/oauth2/tokens", params={"client_id": args.client_id})
    print(args.client_id)
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    p = noun(sub, "perform", "client-credentials", "get an access token with the client credentials grant")
    add_client_flags(p)
    p.add_argument("--scope", action="append", help="scopes to request (repeat or comma-separate)")
    p.add_argument("--audience", action="append", help="audiences to request")
    p.set_defaults(func=client_credentials)
    p = noun(sub, "introspect", "token", "introspect an access or refresh token")
    p.add_argument("token")
    p.add_argument("--scope", action="append", help="scopes the token must have been granted")
    p.set_defaults(func=introspect)
    p = noun(sub, "revoke", "token", "revoke a token (and its whole grant)")
    p.add_argument("token")
    add_client_flags(p)
    p.set_defaults(func=revoke)
    p = noun(sub, "delete", "access-tokens", "delete every access token of a client")
    p.add_argument("client_id", metavar="CLIENT_ID")
    p.set_defaults(func=delete_access_tokens)
