"""Client authentication at the token, revocation and device endpoints (RFC 6749 §2.3, RFC 7523 §2.2).

One method per request: Basic, body credentials, a signed client assertion (private_key_jwt, verified in
client_assertion.py), or a bare client_id for public clients.
Unknown clients pay a dummy argon2 verify so they look like a wrong secret.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hmac
import os
import re
from collections import OrderedDict
from dataclasses import dataclass
from urllib.parse import unquote_plus

from hydralite.crypto.hashing import MAX_SECRET_LENGTH, SecretHasher
from hydralite.engine.client_assertion import JWT_BEARER, ClientAssertions, Refused
from hydralite.engine.forms import Form, single
from hydralite.engine.repository import ClientStorage
from hydralite.errors import InvalidClient, InvalidRequest, OAuthError
from hydralite.models import Client
from hydralite.ops import metrics

_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_MAX_ID_LENGTH = 255
_CHALLENGE = {"WWW-Authenticate": 'Basic realm="hydralite"'}


def _invalid_client(hint: str = "", debug: str = "") -> OAuthError:
    # RFC 6749 §5.2: a 401 invalid_client MUST carry WWW-Authenticate (Hydra omits it; a client is better served).
    return InvalidClient(hint, debug=debug, headers=dict(_CHALLENGE))


@dataclass(frozen=True, slots=True)
class Credentials:
    client_id: str
    secret: str | None
    method: str  # client_secret_basic, client_secret_post, private_key_jwt or none
    assertion: str | None = None  # the client_assertion JWT (private_key_jwt); client_id may then be ""


def _form_decode(text: str) -> str:
    # RFC 6749 §2.3.1: id and secret are application/x-www-form-urlencoded before Base64.
    if _BAD_ESCAPE.search(text):
        raise InvalidRequest("The client credentials in the HTTP authorization header could not be decoded.")
    try:
        return unquote_plus(text, errors="strict")
    except UnicodeDecodeError as exc:
        raise InvalidRequest("The client credentials in the HTTP authorization header could not be decoded.") from exc


def parse_basic(header: str) -> tuple[str, str] | None:
    """(client_id, secret) from `Authorization: Basic …`, None if the header is not Basic."""
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    value = value.strip()
    if not value or len(value) > 4 * (_MAX_ID_LENGTH + MAX_SECRET_LENGTH):
        raise _invalid_client("The HTTP authorization header is empty or too long.")
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError) as exc:
        raise _invalid_client("The HTTP authorization header is not valid base64.") from exc
    user, sep, password = decoded.partition(":")
    if not sep or not user:
        raise _invalid_client("The HTTP authorization header does not contain client_id:client_secret.")
    return _form_decode(user), _form_decode(password)


def credentials(form: Form, authorization: str | None) -> Credentials:
    """Work out which single authentication method the request used."""
    body_id = single(form, "client_id")
    body_secret = single(form, "client_secret")
    if "client_assertion" in form or "client_assertion_type" in form:
        return _assertion(form, body_id, authorization)
    basic = parse_basic(authorization) if authorization else None
    if basic is not None:
        client_id, secret = basic
        if "client_secret" in form:
            raise InvalidRequest("Client credentials must be sent either in the Authorization header or in the "
                                 "request body, not both.")
        if body_id and body_id != client_id:
            raise InvalidRequest("The client_id in the request body does not match the Authorization header.")
        return Credentials(client_id, secret, "client_secret_basic")
    if not body_id:
        raise _invalid_client("Client credentials missing or malformed in both HTTP Authorization header and "
                              "HTTP POST body.")
    if "client_secret" in form:
        return Credentials(body_id, body_secret, "client_secret_post")
    return Credentials(body_id, None, "none")


def _assertion(form: Form, body_id: str, authorization: str | None) -> Credentials:
    """fosite's checks of the parameters; the JWT itself is verified by ClientAssertions."""
    kind = single(form, "client_assertion_type")
    assertion = single(form, "client_assertion")
    if kind != JWT_BEARER:
        if not kind:
            # fosite ignores a client_assertion without its type; RFC 7521 §4.2 makes the type REQUIRED.
            raise InvalidRequest("The client_assertion_type request parameter must be set when using "
                                 "client_assertion.")
        raise InvalidRequest(f"Unknown client_assertion_type '{kind[:64]}'.")
    if not assertion:
        raise InvalidRequest("The client_assertion request parameter must be set when using client_assertion_type "
                             f"of '{JWT_BEARER}'.")
    # RFC 6749 §2.3: one authentication method per request (fosite ignores a secret sent beside an assertion).
    if "client_secret" in form or (authorization and parse_basic(authorization) is not None):
        raise InvalidRequest("Client credentials must be sent either as a client_assertion or as a client secret, "
                             "not both.")
    return Credentials(body_id, None, "private_key_jwt", assertion)


class StaleClient(Exception):
    """A remembered client changed in the database; authenticate again without the memory."""


class VerifiedClients:
    """Clients recently authenticated with these exact credentials, keyed by an HMAC of them.

    A hit skips the client read entirely: the token insert then checks in the same statement that
    the client row is unchanged (updated_at), so a deleted client or a new secret is never honoured.
    """

    def __init__(self, size: int = 10_000):
        self._key = os.urandom(32)
        self._items: OrderedDict[bytes, Client] = OrderedDict()
        self._size = size

    def _digest(self, creds: Credentials) -> bytes:
        raw = "\0".join((creds.method, creds.client_id, creds.secret or "")).encode("utf-8", "surrogatepass")
        return hmac.new(self._key, raw, "sha256").digest()

    def get(self, creds: Credentials) -> Client | None:
        return self._items.get(self._digest(creds))  # stored as cached=True: no copy per request

    def put(self, creds: Credentials, client: Client) -> None:
        if creds.assertion is not None or not creds.secret:
            return  # only secrets are remembered: an assertion is single use and verified every time
        key = self._digest(creds)
        self._items[key] = client if client.cached else dataclasses.replace(client, cached=True)
        self._items.move_to_end(key)
        if len(self._items) > self._size:
            self._items.popitem(last=False)

    def drop(self, creds: Credentials) -> None:
        self._items.pop(self._digest(creds), None)


async def authenticate(form: Form, authorization: str | None, repo: ClientStorage, hasher: SecretHasher,
                       verified: VerifiedClients | None = None, *,
                       assertions: ClientAssertions | None = None) -> Client:
    """Authenticate the client; with `verified`, a remembered client may be returned (client.cached).

    Pass `assertions` (engine.assertions) wherever private_key_jwt is accepted."""
    creds = credentials(form, authorization)
    if creds.assertion is not None:
        if assertions is None:
            raise _invalid_client("private_key_jwt client authentication is not supported at this endpoint.")
        try:
            return await assertions.authenticate(creds.assertion, creds.client_id)
        except Refused as exc:
            raise _invalid_client(exc.hint, exc.debug) from None
    if len(creds.client_id) > _MAX_ID_LENGTH or "\x00" in creds.client_id:
        raise _invalid_client()
    if creds.secret is not None and len(creds.secret) > MAX_SECRET_LENGTH:
        raise _invalid_client()
    if verified is not None and creds.secret:
        remembered = verified.get(creds)
        if remembered is not None:
            metrics.secret_cache_hit()  # the secret was verified before: no argon2, counted as a cache hit
            return remembered
    client = await repo.get_client(creds.client_id)
    if client is None:
        if creds.secret is not None:
            await hasher.dummy_verify(creds.secret)
        raise _invalid_client()
    registered = client.auth_method
    if registered == "none":
        if creds.method != "none" and creds.secret:
            raise _invalid_client("The OAuth 2.0 Client is a public client and must not send a secret.")
        return client
    if creds.method != registered:
        if creds.method == "none":
            raise _invalid_client("The OAuth 2.0 Client is a confidential client and must authenticate.")
        raise _invalid_client(
            f"The OAuth 2.0 Client supports client authentication method '{registered}', but method "
            f"'{creds.method}' was requested. You must configure the OAuth 2.0 client's "
            "'token_endpoint_auth_method' value to accept '" + creds.method + "'.")
    hashes = [h for h in (client.secret_hash, *client.rotated_secrets) if h]
    if not creds.secret or not hashes or not await hasher.verify(client.id, creds.secret, hashes):
        if creds.secret and not hashes:
            await hasher.dummy_verify(creds.secret)
        raise _invalid_client()
    if verified is not None:
        verified.put(creds, client)
    return client
