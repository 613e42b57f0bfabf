"""Hydra's commands are verb + noun (`create oauth2-client`, `get jwk`): one parser per verb, nouns below it."""

from __future__ import annotations

import argparse

from hydralite.cli.api import add_endpoint_flags
from hydralite.cli.render import add_format_flags

_VERB_HELP = {
    "create": "create a resource", "get": "get resources", "list": "list resources", "update": "update a resource",
    "delete": "delete resources", "import": "import resources from files", "perform": "perform an OAuth 2.0 flow",
    "introspect": "introspect a token", "revoke": "revoke a token",
}


def noun(sub: argparse._SubParsersAction, verb: str, name: str, help_text: str,
         aliases: tuple[str, ...] = ()) -> argparse.ArgumentParser:
    """The parser of `hydralite <verb> <name>`, with the global API flags (--endpoint, --format, --quiet)."""
    verbs = sub._name_parser_map
    if verb not in verbs:
        parser = sub.add_parser(verb, help=_VERB_HELP.get(verb, verb))
        nouns = parser.add_subparsers(dest="noun", metavar="RESOURCE")
        nouns.required = True
        parser.set_defaults(_nouns=nouns)
    nouns = verbs[verb].get_default("_nouns")
    parser = nouns.add_parser(name, help=help_text, aliases=list(aliases))
    add_endpoint_flags(parser)
    add_format_flags(parser)
    return parser
