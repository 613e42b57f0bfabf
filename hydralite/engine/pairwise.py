"""Pairwise subject identifiers (OIDC Core §8, §8.1) as Hydra computes and validates them.

A client registered with `subject_type: pairwise` sees `sub` = lowercase hex SHA-256 of sector ‖ subject ‖ salt,
where the sector is the client's `sector_identifier_uri` (the whole URI, as Hydra hashes it) or else the host
(with port) of its only redirect URI. The value is computed once, when consent is given, and kept in the session
that the code and tokens carry (`obfuscated_subject`), as Hydra keeps it in the ID token claims of the session:
the ID token, userinfo and introspection (`obfuscated_subject`) read it from there. A login accepted with
`force_subject_identifier` sets that value instead of the hash (pairwise clients only; introspection's `sub`
stays the real subject).
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from hydralite.config import Config
from hydralite.engine.outbound import OutboundError
from hydralite.errors import InvalidRequest, invalid_client_metadata
from hydralite.models import Client

if TYPE_CHECKING:
    from hydralite.engine.core import Engine

PAIRWISE = "pairwise"
SECTOR_MAX_BYTES = 5 << 20  # Hydra reads at most 5 MiB of a sector_identifier_uri document


def supported_types(config: Config, client_strategy: str = "") -> list[str]:
    """Hydra's SubjectTypesSupported: pairwise is switched off while access tokens are JWTs (the client's
    strategy, else the global one), because a JWT access token carries the real subject."""
    types = list(config.subject_types_supported)
    if PAIRWISE in types and (client_strategy or config.access_token_strategy) == "jwt":
        types.remove(PAIRWISE)
        types = types or ["public"]
    return types


def check_subject_type(doc: dict[str, Any], config: Config) -> None:
    """Default and check `subject_type` in a client document, with Hydra's validator's error."""
    types = supported_types(config, (doc.get("access_token_strategy") or "").lower())
    if doc.get("subject_type"):
        if doc["subject_type"] not in types:
            raise invalid_client_metadata(
                f"Subject type {doc['subject_type']} is not supported by server, only [{' '.join(types)}] are "
                "allowed.")
    else:
        doc["subject_type"] = "public" if "public" in types else types[0]


def _sector(client: Client) -> str:
    sector_uri = client.metadata.get("sector_identifier_uri") or ""
    redirects = client.redirect_uris
    if not sector_uri and len(redirects) > 1:
        raise InvalidRequest(f"OAuth 2.0 Client {client.id} has multiple redirect_uris but no sector_identifier_uri "
                             "was set which is not allowed when performing using subject type pairwise. Please "
                             "reconfigure the OAuth 2.0 client properly.")
    if not sector_uri and not redirects:
        raise InvalidRequest(f"OAuth 2.0 Client {client.id} neither specifies a sector_identifier_uri nor a "
                             "redirect_uri which is not allowed when performing using subject type pairwise. Please "
                             "reconfigure the OAuth 2.0 client properly.")
    if sector_uri:
        return str(sector_uri)
    return urlsplit(redirects[0]).netloc.rpartition("@")[2]  # Go's URL.Host: host[:port], no user info


def obfuscate(salt: str, subject: str, sector: str) -> str:
    return hashlib.sha256(f"{sector}{subject}{salt}".encode()).hexdigest()


def subject_for(config: Config, client: Client, subject: str, forced: str = "") -> str:
    """The `sub` this client sees (Hydra's ObfuscateSubjectIdentifier); raises InvalidRequest when a pairwise
    client cannot get one (pairwise switched off, or no single sector).

    `forced` is the login accept's `force_subject_identifier`: as in Hydra it replaces the computed pairwise value
    (so the sector is not needed then) and means nothing to a public-subject client.
    """
    if client.metadata.get("subject_type") != PAIRWISE:
        return subject
    if PAIRWISE not in supported_types(config):
        raise InvalidRequest(f"Subject Identifier Algorithm '{PAIRWISE}' was requested by OAuth 2.0 Client "
                             f"'{client.id}' but is not configured.")
    if forced:
        return forced
    return obfuscate(config.pairwise_salt, subject, _sector(client))


def subject_or_none(config: Config, client: Client, subject: str) -> str | None:
    """subject_for, or None where it would raise (for comparisons that must not fail)."""
    try:
        return subject_for(config, client, subject)
    except InvalidRequest:
        return None


#: All address look-ups of one client body together take at most this long (Hydra's ipx allows 2 s per look-up).
ADDRESS_CHECK_TIMEOUT = 5.0


async def check_client(engine: Engine, doc: dict[str, Any]) -> None:
    """The checks of Hydra's client validator that call out: the address policy for the URIs hydralite may call
    (jwks_uri, backchannel_logout_uri, sector_identifier_uri, each request_uris entry, named as Hydra names them),
    and the sector_identifier_uri document (RFC: OIDC Registration §5)."""
    if engine.outbound.strict:
        named = [(field, doc.get(field) or "") for field in ("jwks_uri", "backchannel_logout_uri",
                                                             "sector_identifier_uri")]
        named += [(f"request_uris.{i}", uri) for i, uri in enumerate(doc.get("request_uris") or [])]
        await _check_addresses(engine, named)
    if doc.get("sector_identifier_uri"):
        await check_sector(engine, doc["sector_identifier_uri"], doc.get("redirect_uris") or [])


async def _check_addresses(engine: Engine, named: list[tuple[str, str]]) -> None:
    """Each distinct URI looked up once, all at the same time and within ADDRESS_CHECK_TIMEOUT (a body with many
    request_uris on a slow name server must not hold the look-up threads); the first refused field in order."""
    first: dict[str, str] = {}
    for field, uri in named:
        if uri:
            first.setdefault(uri, field)
    try:
        async with asyncio.timeout(ADDRESS_CHECK_TIMEOUT):
            outcomes = await asyncio.gather(*(engine.outbound.check(uri) for uri in first), return_exceptions=True)
    except TimeoutError:
        raise invalid_client_metadata("Client IP address is not allowed: the addresses of the client's URIs could "
                                      "not be resolved in time.") from None
    for field, outcome in zip(first.values(), outcomes, strict=True):
        if isinstance(outcome, OutboundError):
            raise invalid_client_metadata(f"Client IP address is not allowed: {field}: {outcome}") from outcome
        if isinstance(outcome, BaseException):
            raise outcome


async def check_sector(engine: Engine, location: str, redirect_uris: list[str]) -> None:
    """Hydra's ValidateSectorIdentifierURL: an https URL whose JSON array lists every redirect URI.

    Hydra puts the reason only in the error's debug field; hydralite shows it with oauth2.expose_internal_errors.
    """
    def refuse(reason: str) -> Exception:
        return invalid_client_metadata(reason if engine.config.expose_internal_errors else "")

    try:
        scheme = urlsplit(location).scheme
    except ValueError as exc:
        raise invalid_client_metadata("Value of sector_identifier_uri could not be parsed.") from exc
    # hydralite: under --dev an http URL is accepted too (a local test server has no trusted certificate).
    if scheme != "https" and not (engine.config.dev and scheme == "http"):
        raise refuse("Value sector_identifier_uri must be an HTTPS URL but it is not.")
    try:
        urls = await engine.outbound.get_json(location, max_bytes=SECTOR_MAX_BYTES)
    except OutboundError as exc:
        raise refuse(f"Unable to fetch the values from sector_identifier_uri: {exc}") from exc
    if not isinstance(urls, list) or not all(isinstance(u, str) for u in urls):
        raise refuse("Unable to decode values from sector_identifier_uri: expected a JSON array of strings")
    if not urls:
        raise refuse("Array from sector_identifier_uri contains no items")
    for uri in redirect_uris:
        if uri not in urls:
            raise refuse(f'Redirect URL "{uri}" does not match values from sector_identifier_uri.')
