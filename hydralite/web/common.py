"""What both apps share: bounded body reading, form and JSON parsing, responses, error rendering."""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import parse_qsl, quote

import orjson
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hydralite.errors import APIError, InvalidRequest, OAuthError, ServerError

log = logging.getLogger("hydralite.web")

MAX_BODY = 1 << 20  # 1 MiB, as Hydra's form parser
MAX_FIELDS = 1000
MAX_DRAIN = 8 << 20
FORM_TYPE = "application/x-www-form-urlencoded"
OAUTH_JSON = "application/json;charset=UTF-8"
API_JSON = "application/json; charset=utf-8"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
_BAD_ESCAPE = re.compile(rb"%(?![0-9A-Fa-f]{2})")


class BodyTooLarge(APIError):
    def __init__(self) -> None:
        super().__init__(413, "The request body is too large", f"The request body must not exceed {MAX_BODY} bytes.")

    def as_oauth(self) -> OAuthError:
        """On OAuth endpoints, RFC 6749's shape with the 413 status (SECURITY.md F3: 413 / invalid_request)."""
        return InvalidRequest(f"The request body is too large: it must not exceed {MAX_BODY} bytes.",
                              status_code=413)


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The request body, refusing anything over `limit` without reading it all."""
    length = request.headers.get("content-length")
    if length is not None:
        try:
            declared = int(length)
        except ValueError as exc:
            raise InvalidRequest("The Content-Length header is invalid.") from exc
        if declared > limit:
            await _drain(request, declared)
            raise BodyTooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            await _drain(request, size)
            raise BodyTooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


async def _drain(request: Request, size: int) -> None:
    """Read and drop a moderately oversized body so the client sees the 413 instead of a reset connection
    (closing a socket with unread data makes the kernel send RST); beyond MAX_DRAIN we just close."""
    if size > MAX_DRAIN:
        return
    seen = 0
    try:
        async for chunk in request.stream():
            seen += len(chunk)
            if seen > MAX_DRAIN:
                return
    except ClientDisconnect:
        return


def _check_value(name: str, value: str) -> None:
    if "\x00" in value or "\x00" in name:
        raise InvalidRequest("Request parameters must not contain NUL characters.")


async def read_form(request: Request) -> dict[str, list[str]]:
    """Parse an urlencoded or multipart POST body into {name: [values]}; reject empty or malformed bodies."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        # Buffer through the bounded reader first: a chunked multipart body has no Content-Length to check.
        request._body = await read_body(request)
        try:
            data = await request.form(max_files=0, max_fields=MAX_FIELDS)
        except Exception as exc:  # python-multipart raises several types for malformed bodies
            raise InvalidRequest("Unable to parse the multipart body.") from exc
        form: dict[str, list[str]] = {}
        for name, value in data.multi_items():
            if not isinstance(value, str):
                raise InvalidRequest("File uploads are not accepted here.")
            _check_value(name, value)
            form.setdefault(name, []).append(value)
        return form
    body = await read_body(request)
    if not body:
        raise InvalidRequest("The POST body can not be empty.")
    if ctype != FORM_TYPE:
        raise InvalidRequest("The request body must be application/x-www-form-urlencoded or multipart/form-data.")
    return parse_urlencoded(body)


def parse_urlencoded(body: bytes) -> dict[str, list[str]]:
    """A non-empty application/x-www-form-urlencoded body as {name: [values]} (shared with web/hot.py)."""
    if _BAD_ESCAPE.search(body):  # Go's url.ParseQuery refuses these; parse_qsl would keep them verbatim
        raise InvalidRequest("Unable to parse the form body: invalid percent-encoding.")
    try:
        pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict",
                          max_num_fields=MAX_FIELDS)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequest("Unable to parse the form body.") from exc
    form: dict[str, list[str]] = {}
    for name, value in pairs:
        if "\x00" in value or "\x00" in name:
            raise InvalidRequest("Request parameters must not contain NUL characters.")
        values = form.get(name)
        if values is None:
            form[name] = [value]
        else:
            values.append(value)
    return form


_JSON_TYPES = ("", "application/json", "application/x-www-form-urlencoded", "text/plain")


_REQUIRED = object()


async def read_json(request: Request, empty: Any = _REQUIRED) -> Any:
    """The admin API's JSON body. curl's -d default type is accepted, as Hydra accepts it.

    `empty` is what an empty body means where Hydra allows one (reject and consent bodies)."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in _JSON_TYPES and not ctype.endswith("+json"):
        raise APIError(415, "The request's content type is not supported",
                       f"Expected application/json, got {ctype!r}.")
    body = await read_body(request)
    if not body.strip():
        if empty is not _REQUIRED:
            return empty
        raise APIError(400, "The request was malformed or contained invalid parameters",
                       "Unable to decode the request body: EOF")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise APIError(400, "The request was malformed or contained invalid parameters",
                       f"Unable to decode the request body: {exc}") from exc


def oauth_json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    merged = dict(NO_STORE)
    if headers:
        merged.update(headers)
    return Response(orjson.dumps(data), status_code=status, media_type=None,
                    headers={**merged, "Content-Type": OAUTH_JSON})


def header_value(value: str) -> str:
    """A header value built from client input (a Location or Link naming a client id, key set or subject):
    anything outside printable ASCII is percent-encoded as UTF-8, so it is never a 500 (HTTP headers are
    Latin-1) and a CR/LF never splits the header."""
    if value.isascii() and value.isprintable():
        return value
    return "".join(c if " " <= c <= "~" else quote(c, safe="", errors="replace") for c in value)


def api_json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    sent = {name: header_value(value) for name, value in (headers or {}).items()}
    return Response(orjson.dumps(data), status_code=status, headers={**sent, "Content-Type": API_JSON})


def render_oauth_error(exc: OAuthError, expose_debug: bool) -> Response:
    return oauth_json(exc.to_dict(expose_debug), exc.status_code, exc.headers)


def render_api_error(exc: APIError) -> Response:
    return api_json(exc.to_dict(), exc.status_code, exc.headers)


def not_found_route() -> Response:
    return api_json({"error": {"code": 404, "message": "Not Found", "reason": "The requested route does not "
                               "exist. Make sure you are using the right path, domain, and port."}}, 404)


def error_response(exc: OAuthError | APIError, *, oauth: bool, expose_debug: bool) -> Response:
    """An error in its port's wire format: RFC 6749 JSON on the OAuth endpoints, Hydra's admin JSON elsewhere
    (the Starlette apps' handlers and the raw hot paths both answer through here)."""
    if oauth and isinstance(exc, BodyTooLarge):
        exc = exc.as_oauth()
    if isinstance(exc, APIError):
        return render_api_error(exc)
    if oauth:
        return render_oauth_error(exc, expose_debug)
    return api_json(exc.to_dict(expose_debug), exc.status_code, exc.headers)  # admin: same fields, Hydra's type


def install_error_handlers(app: Any, *, expose_debug: bool, oauth: bool) -> None:
    """OAuth errors, admin errors, routing errors and anything unexpected, each in its wire format."""

    async def on_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, OAuthError | APIError)
        return error_response(exc, oauth=oauth, expose_debug=expose_debug)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404:
            return not_found_route()
        if exc.status_code == 405:
            return api_json({"error": {"code": 405, "message": "Method Not Allowed",
                                       "reason": "The requested method is not allowed on this route."}}, 405)
        return api_json({"error": {"code": exc.status_code, "message": str(exc.detail)}}, exc.status_code)

    async def on_crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(ServerError(debug=type(exc).__name__), oauth=oauth, expose_debug=expose_debug)

    app.add_exception_handler(OAuthError, on_error)
    app.add_exception_handler(APIError, on_error)
    app.add_exception_handler(HTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)


class PathNormalizer:
    """Hydra's middleware: strip a trailing `/`, add `/admin` on the admin port, no-cache every GET."""

    def __init__(self, app: ASGIApp, *, admin_prefix: bool):
        self.app = app
        self.admin_prefix = admin_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if len(path) > 1 and path.endswith("/"):
            path = path.rstrip("/") or "/"
        if self.admin_prefix and not (path == "/admin" or path.startswith("/admin/")):
            path = "/admin" + path
        if path != scope["path"]:
            scope = dict(scope, path=path, raw_path=path.encode())
        if scope["method"] != "GET":
            await self.app(scope, receive, send)
            return

        async def send_with_no_cache(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"cache-control"]
                headers.append((b"cache-control", b"private, no-cache, no-store, must-revalidate"))
                message = dict(message, headers=headers)
            await send(message)

        await self.app(scope, receive, send_with_no_cache)
