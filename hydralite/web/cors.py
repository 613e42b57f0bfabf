"""CORS as Hydra serves it: rs/cors with ory/x's origin check around each port, and on the OAuth2 endpoints
Hydra's oauth2cors rule that also allows the origins the calling client registered (`allowed_cors_origins`).

Starlette's CORSMiddleware cannot decide per request from the client (and answers preflights differently), so
this is a small ASGI middleware, installed only when `serve.{public,admin}.cors.enabled` is true:
- a preflight (OPTIONS with Access-Control-Request-Method) is answered 204 here, never reaching an endpoint
  (unless `options_passthrough`); it gets Allow-Origin (the request's Origin, echoed), -Methods (the requested
  one), -Headers (the requested ones), -Credentials and Max-Age only when the origin, method and headers pass;
- any other request goes on to the endpoint and its answer gets Allow-Origin, Expose-Headers and -Credentials
  when the origin and method pass; every answer gets `Vary: Origin`.
Allowed origins (ory/x corsx.CheckOrigin): an empty list or `*` allows all; otherwise exact origins, or one `*`
per origin bounded by a registrable domain (`https://*.example.com`; `https://*foo.com` or `https://*.com` are
ignored, as Hydra does, judged with the public suffix list when the system has it).
On /oauth2/token, /oauth2/revoke, /userinfo and /.well-known/*, an actual request from another origin is also
allowed when the client (form `client_id`, else Basic user, else the bearer token's client) lists the origin in
`allowed_cors_origins` (glob, `*` within one DNS label). Preflights there follow the global rule only: Hydra's
outer middleware answers them before its per-client one can run.
"""

from __future__ import annotations

import base64
import binascii
import functools
import logging
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hydralite.config.model import CorsConfig
from hydralite.engine import access_tokens
from hydralite.engine.core import Engine
from hydralite.web.common import PathNormalizer

log = logging.getLogger("hydralite.cors")

#: Hydra's oauth2cors paths (x/oauth2cors applied in oauth2 and jwk SetPublicRoutes).
CLIENT_PATHS = frozenset({"/oauth2/token", "/oauth2/revoke", "/userinfo", "/.well-known/openid-configuration",
                          "/.well-known/oauth-authorization-server", "/.well-known/jwks.json"})
#: Never CORS, whatever the origin: the browser navigates to the authorization endpoint, it never fetches it.
#: Differs from Hydra on purpose (RFC 9700 §2.6; Hydra's rs/cors wraps every public route).
NO_CORS_PATHS = frozenset({"/oauth2/auth"})
_FORM_LIMIT = 1 << 20
_PSL = (Path("/usr/share/publicsuffix/public_suffix_list.dat"),)
_PREFLIGHT_VARY = (b"vary", b"Origin, Access-Control-Request-Method, Access-Control-Request-Headers")
_VARY = (b"vary", b"Origin")
_TRUE = b"true"


@functools.cache
def _suffix_rules() -> tuple[frozenset[str], frozenset[str], frozenset[str]] | None:
    """(rules, wildcard rules, exceptions) of the public suffix list, or None when the system has none."""
    for path in _PSL:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        rules = [line.split()[0].lower() for line in lines if line.strip() and not line.startswith("//")]
        return (frozenset(r for r in rules if r[0] not in "*!"), frozenset(r[2:] for r in rules if r[:2] == "*."),
                frozenset(r[1:] for r in rules if r[0] == "!"))
    return None


def registrable(domain: str) -> bool:
    """golang.org/x/net/publicsuffix.EffectiveTLDPlusOne succeeds: `domain` is longer than its public suffix.
    Without a suffix list on the system, two labels or more count as registrable."""
    if not domain or domain.startswith(".") or domain.endswith(".") or ".." in domain:
        return False
    labels = domain.split(".")
    rules = _suffix_rules()
    if rules is None:
        return len(labels) >= 2
    plain, wild, exceptions = rules
    suffix_len = 1  # the default rule "*"
    for i in range(len(labels)):
        candidate = ".".join(labels[i:])
        if candidate in exceptions:
            suffix_len = len(labels) - i - 1
            break
        parent = ".".join(labels[i + 1:])
        if candidate in plain or (parent and parent in wild):
            suffix_len = len(labels) - i
            break
    return len(labels) > suffix_len


def unsafe_wildcard(pattern: str) -> bool:
    """ory/x corsx.ClassifyOrigin(...).IsUnsafeWildcard: a `*` not bounded by a registrable domain."""
    star = pattern.rfind("*")
    if star < 0:
        return False
    _, dot, base = pattern[star:].partition(".")
    if not dot:
        return True
    return not registrable(base.lower().partition(":")[0])


def check_origin(allowed: Iterable[str], origin: str) -> bool:
    """ory/x corsx.CheckOrigin (an empty list allows every origin)."""
    allowed = list(allowed)
    if not allowed:
        return True
    origin = origin.lower()
    for pattern in allowed:
        if pattern == "*":
            return True
        pattern = pattern.lower()
        prefix, star, suffix = pattern.partition("*")
        if not star:
            if pattern == origin:
                return True
            continue
        if unsafe_wildcard(pattern):
            continue
        if len(origin) >= len(prefix) + len(suffix) and origin.startswith(prefix) and origin.endswith(suffix):
            return True
    return False


@functools.lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str] | None:
    """gobwas/glob with '.' as separator, as Hydra's oauth2cors compiles an origin: `*` and `?` stay within a DNS
    label; `scheme://*` matches every origin of the scheme; an unbounded wildcard matches nothing."""
    pattern = pattern.lower()
    scheme, sep, rest = pattern.partition("://")
    if sep and rest == "*":
        return re.compile(re.escape(scheme + "://") + ".*")
    if unsafe_wildcard(pattern):
        return None
    parts = (("[^.]*" if c == "*" else "[^.]" if c == "?" else re.escape(c)) for c in pattern)
    return re.compile("".join(parts))


def glob_allows(patterns: Iterable[str], origin: str) -> bool:
    origin = origin.lower()
    for pattern in patterns:
        if pattern == "*":
            return True
        compiled = _glob(pattern)
        if compiled is not None and compiled.fullmatch(origin):
            return True
    return False


class Cors:
    """The CORS middleware of one port (see the module docstring)."""

    def __init__(self, app: ASGIApp, config: CorsConfig, engine: Engine | None = None):
        self.app = app
        self.config = config
        self.engine = engine  # set on the public port: the per-client rule of CLIENT_PATHS
        self.methods = frozenset(config.allowed_methods or ("GET", "POST", "HEAD"))  # rs/cors' default when empty
        headers = config.allowed_headers or ("Accept", "Content-Type", "X-Requested-With")
        self.any_header = "*" in headers
        self.headers = frozenset(h.lower() for h in headers)
        self.exposed = ", ".join("-".join(p.capitalize() for p in h.split("-")) for h in config.exposed_headers)
        self.all_origins = not config.allowed_origins or "*" in config.allowed_origins

    def _debug(self, message: str, *args: Any) -> None:
        if self.config.debug:
            log.info(message, *args)

    def origin_allowed(self, origin: str) -> bool:
        return self.all_origins or check_origin(self.config.allowed_origins, origin)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        origin = method = request_headers = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value.decode("latin-1")
            elif name == b"access-control-request-method":
                method = value.decode("latin-1")
            elif name == b"access-control-request-headers":
                request_headers = value.decode("latin-1") if request_headers is None else \
                    f"{request_headers},{value.decode('latin-1')}"
        if self.engine is not None and scope["path"] in NO_CORS_PATHS:
            if scope["method"] == "OPTIONS" and method:  # a refused preflight, as for an origin not allowed
                await send({"type": "http.response.start", "status": 204, "headers": [_PREFLIGHT_VARY]})
                await send({"type": "http.response.body", "body": b""})
            else:
                await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and method:
            await self._preflight(scope, receive, send, origin, method, request_headers)
            return
        added: list[tuple[bytes, bytes]] = [_VARY]
        if origin:
            allowed = self.origin_allowed(origin)
            if not allowed and self.engine is not None and scope["path"] in CLIENT_PATHS:
                allowed, receive = await self._client_allows(scope, receive, origin)
            if not allowed:
                self._debug("actual request: origin %r not allowed", origin)
            elif scope["method"] not in self.methods:
                self._debug("actual request: method %r not allowed", scope["method"])
            else:
                added.append((b"access-control-allow-origin", origin.encode("latin-1")))
                if self.exposed:
                    added.append((b"access-control-expose-headers", self.exposed.encode("latin-1")))
                if self.config.allow_credentials:
                    added.append((b"access-control-allow-credentials", _TRUE))

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), *added]
            await send(message)

        await self.app(scope, receive, send_with_cors)

    def _preflight_headers(self, origin: str | None, method: str, requested: str | None) -> list[tuple[bytes, bytes]]:
        added = [_PREFLIGHT_VARY]
        if not origin:
            return added
        if not self.origin_allowed(origin):
            self._debug("preflight: origin %r not allowed", origin)
            return added
        if method != "OPTIONS" and method not in self.methods:
            self._debug("preflight: method %r not allowed", method)
            return added
        # Differs from rs/cors on purpose: header names are compared ignoring case and order (rs/cors expects the
        # lower-case sorted list browsers send, and refuses anything else).
        names = [n.strip().lower() for n in (requested or "").split(",")]
        if requested is not None and not self.any_header and any(n and n not in self.headers for n in names):
            self._debug("preflight: headers %r not allowed", requested)
            return added
        added.append((b"access-control-allow-origin", origin.encode("latin-1")))
        added.append((b"access-control-allow-methods", method.encode("latin-1")))
        if requested:
            added.append((b"access-control-allow-headers", requested.encode("latin-1")))
        if self.config.allow_credentials:
            added.append((b"access-control-allow-credentials", _TRUE))
        if self.config.max_age > 0:
            added.append((b"access-control-max-age", str(self.config.max_age).encode()))
        return added

    async def _preflight(self, scope: Scope, receive: Receive, send: Send, origin: str | None, method: str,
                         requested: str | None) -> None:
        added = self._preflight_headers(origin, method, requested)
        if self.config.options_passthrough:
            async def send_with_cors(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message["headers"] = [*message.get("headers", ()), *added]
                await send(message)

            await self.app(scope, receive, send_with_cors)
            return
        await send({"type": "http.response.start", "status": 204, "headers": added})
        await send({"type": "http.response.body", "body": b""})

    async def _client_allows(self, scope: Scope, receive: Receive, origin: str) -> tuple[bool, Receive]:
        """Hydra's oauth2cors: the client from the form `client_id`, the Basic user or the bearer token, and its
        `allowed_cors_origins`. Returns the decision and a receive that replays any body read here."""
        if glob_allows(self.config.allowed_origins, origin):  # Hydra's inner check repeats the global list as globs
            return True, receive
        form: dict[str, str] = {}
        content_type = authorization = b""
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"authorization":
                authorization = value
        if scope["method"] in ("POST", "PUT", "PATCH") and \
                content_type.split(b";")[0].strip().lower() == b"application/x-www-form-urlencoded":
            body, receive = await _buffer(receive)
            form = dict(reversed(parse_qsl(body.decode("utf-8", "replace"))))  # first value wins, as Go's
        query = dict(reversed(parse_qsl(scope.get("query_string", b"").decode("utf-8", "replace"))))
        client_id = form.get("client_id", "")
        scheme, _, credentials = authorization.decode("latin-1").partition(" ")
        if not client_id and scheme.lower() == "basic":
            try:
                client_id = base64.b64decode(credentials.strip(), validate=True).decode("utf-8").partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                client_id = ""
        engine = self.engine
        assert engine is not None  # noqa: S101 (only called on the public port)
        try:
            if not client_id:
                token = credentials.strip() if scheme.lower() == "bearer" else \
                    form.get("access_token") or query.get("access_token", "")
                record = await access_tokens.lookup(engine, token) if token else None
                client_id = record.client_id if record is not None else ""
            client = await engine.repo.get_client(client_id) if client_id else None
        except Exception:  # noqa: BLE001 - a CORS decision never fails the request; the endpoint reports the outage
            log.debug("per-client CORS lookup failed", exc_info=True)
            return False, receive
        if client is None:
            return False, receive
        return glob_allows(client.metadata.get("allowed_cors_origins") or (), origin), receive


async def _buffer(receive: Receive) -> tuple[bytes, Receive]:
    """Read the request body (up to 1 MiB) and return it with a receive that hands the same messages on."""
    body = bytearray()
    more = True
    while more and len(body) <= _FORM_LIMIT:
        message = await receive()
        if message["type"] != "http.request":
            pending: list[Message] = [message]
            break
        body += message.get("body", b"")
        more = message.get("more_body", False)
    else:
        pending = [{"type": "http.request", "body": bytes(body), "more_body": more}]
    if pending[0]["type"] != "http.request":
        pending.insert(0, {"type": "http.request", "body": bytes(body), "more_body": True})

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return bytes(body), replay


def install(app: ASGIApp, config: CorsConfig, engine: Engine | None = None) -> ASGIApp:
    """Wrap `app` (inside its PathNormalizer, as Hydra's CORS runs after path trimming) when CORS is enabled;
    otherwise return it untouched, so a disabled CORS costs nothing."""
    if not config.enabled:
        return app
    if isinstance(app, PathNormalizer):
        app.app = Cors(app.app, config, engine)
        return app
    return Cors(app, config, engine)


def for_port(name: str, app: ASGIApp, engine: Engine) -> ASGIApp:
    """serve.public.cors (with the per-client rule) or serve.admin.cors around the app of port `name`."""
    if name == "public":
        return install(app, engine.config.cors_public, engine)
    return install(app, engine.config.cors_admin)
