"""Hydra 1.x spellings from the 5-minute tutorial: `clients create`, `token client|introspect|user`.

Each prints the current spelling on stderr and then does exactly what it does.
"""

from __future__ import annotations

import argparse
import os
import sys

from hydralite.cli import authcode_cmd, client_cmds, token_cmds
from hydralite.cli.api import add_endpoint_flags
from hydralite.cli.render import add_format_flags


def _alias(new: str, func):  # type: ignore[no-untyped-def]
    # Hydra 1.x read its URLs from HYDRA_URL (public) and HYDRA_ADMIN_URL; ORY_SDK_URL and -e still come first.
    env_name = "HYDRA_URL" if new.startswith(("perform", "revoke")) else "HYDRA_ADMIN_URL"

    def run(args: argparse.Namespace) -> int:
        print(f"Note: this spelling is from Hydra 1.x; the current one is `hydralite {new}`.", file=sys.stderr)
        if not args.endpoint and not os.environ.get("ORY_SDK_URL"):
            args.endpoint = os.environ.get(env_name) or None
        return func(args)
    return run


def _bare_token(args: argparse.Namespace) -> int:
    """Hydra 1.x's `token client` printed only the access token (tutorials copy it); --format still applies."""
    if args.format == "table":
        args.quiet = True
    return token_cmds.client_credentials(args)


def _parser(sub: argparse._SubParsersAction, name: str, help_text: str) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help_text)
    add_endpoint_flags(p)
    add_format_flags(p)
    return p


def register(sub: argparse._SubParsersAction) -> None:
    clients = sub.add_parser("clients", help="Hydra 1.x: clients create|get|list|delete")
    csub = clients.add_subparsers(dest="legacy", metavar="ACTION")
    csub.required = True
    p = _parser(csub, "create", "create an OAuth 2.0 client")
    client_cmds.add_field_flags(p)
    p.set_defaults(func=_alias("create oauth2-client", client_cmds.create))
    p = _parser(csub, "get", "get OAuth 2.0 clients")
    p.add_argument("ids", nargs="+")
    p.set_defaults(func=_alias("get oauth2-client", client_cmds.get))
    p = _parser(csub, "list", "list OAuth 2.0 clients")
    p.add_argument("--page-size", type=int, default=100)
    p.add_argument("--page-token", default="")
    p.set_defaults(func=_alias("list oauth2-clients", client_cmds.list_clients))
    p = _parser(csub, "delete", "delete OAuth 2.0 clients")
    p.add_argument("ids", nargs="+")
    p.set_defaults(func=_alias("delete oauth2-client", client_cmds.delete))

    token = sub.add_parser("token", help="Hydra 1.x: token client|introspect|user|revoke")
    tsub = token.add_subparsers(dest="legacy", metavar="ACTION")
    tsub.required = True
    p = _parser(tsub, "client", "get an access token with the client credentials grant")
    token_cmds.add_client_flags(p)
    p.add_argument("--scope", action="append")
    p.add_argument("--audience", action="append")
    p.set_defaults(func=_alias("perform client-credentials", _bare_token))
    p = _parser(tsub, "introspect", "introspect a token")
    p.add_argument("token")
    p.add_argument("--scope", action="append")
    # The 5-minute tutorial passes these; Hydra 1.9 accepted them with no effect, and so does hydralite.
    for flag in ("--client-id", "--client-secret", "--access-token"):
        p.add_argument(flag, dest="ignored_" + flag[2:].replace("-", "_"), default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=_alias("introspect token", token_cmds.introspect))
    p = _parser(tsub, "revoke", "revoke a token")
    p.add_argument("token")
    token_cmds.add_client_flags(p)
    p.set_defaults(func=_alias("revoke token", token_cmds.revoke))
    p = _parser(tsub, "user", "sign in through the browser (authorization code flow)")
    authcode_cmd.add_flags(p)
    p.set_defaults(func=_alias("perform authorization-code", authcode_cmd.run))
