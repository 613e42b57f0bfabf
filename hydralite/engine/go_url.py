"""Go's net/url as far as Hydra's client validator sees it: url.Parse and url.ParseRequestURI's verdicts, the parts
they yield and their error texts.

Hydra checks client URIs with those functions, which accept what urllib would call relative or opaque ("/cb",
"http:foo") and refuse what urllib lets through (a bad port, a bad %-escape); its messages quote Go's errors
(engine/clients.py). Written here from Go's documented behaviour.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, replace

_HOST_OK = frozenset(string.ascii_letters + string.digits + "-_.~!$&'()*+,;=:[]<>\"")
_USERINFO_OK = frozenset(string.ascii_letters + string.digits + "-._:~!$&'()*+,;=%@")
_USER_PASSWORD_OK = frozenset(string.ascii_letters + string.digits + "-_.~$&+,;=")
_GO_ESCAPES = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v",
               "\\": "\\\\", '"': '\\"'}


@dataclass(frozen=True)
class GoURL:
    """The fields of Go's url.URL that client validation looks at (host unescaped, user as Go prints it)."""

    scheme: str = ""
    opaque: str = ""
    user: str | None = None  # Go's Userinfo.String() (escaped), None when the URL has no `@`
    host: str = ""
    path: str = ""
    raw_query: str = ""
    force_query: bool = False
    fragment: str = ""

    def hostname(self) -> str:
        return _split_host_port(self.host)[0]

    def port(self) -> str:
        return _split_host_port(self.host)[1]

    def string(self) -> str:
        """Go's URL.String() for a URL without path, query or fragment text (what an origin may have)."""
        out = f"{self.scheme}:" if self.scheme else ""
        if self.opaque:
            out += self.opaque
        elif self.host or self.user is not None or self.path:
            out += "//"
            if self.user is not None:
                out += self.user + "@"
            out += "".join(c if c in _HOST_OK else "".join(f"%{b:02X}" for b in c.encode("utf-8", "surrogateescape"))
                           for c in self.host)
        out += self.path
        if self.force_query or self.raw_query:
            out += "?" + self.raw_query
        return out


class GoURLError(ValueError):
    """A url.Error: `parse "<url>": <reason>`, as Go prints it."""

    def __init__(self, url: str, reason: str):
        super().__init__(f"parse {go_quote(url)}: {reason}")


def go_quote(text: str) -> str:
    """strconv.Quote for the characters a URL or a JWK member can hold."""
    out = []
    for c in text:
        if c in _GO_ESCAPES:
            out.append(_GO_ESCAPES[c])
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\x{ord(c):02x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def _split_host_port(host_port: str) -> tuple[str, str]:
    host, port = host_port, ""
    colon = host.rfind(":")
    if colon != -1 and _valid_optional_port(host[colon:]):
        host, port = host[:colon], host[colon + 1:]
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    return host, port


def _valid_optional_port(port: str) -> bool:
    return port == "" or (port[0] == ":" and all("0" <= c <= "9" for c in port[1:]))


def _unescape(text: str, host: bool = False) -> str:
    """Go's unescape: every `%` must start a hex pair; a host allows only its own characters."""
    i = 0
    while i < len(text):
        c = text[i]
        if c == "%":
            pair = text[i + 1:i + 3]
            if len(pair) < 2 or not all(ch in string.hexdigits for ch in pair):
                raise ValueError(f"invalid URL escape {go_quote(text[i:i + 3])}")
            if host and int(pair[0], 16) < 8 and pair != "25":
                raise ValueError(f"invalid URL escape {go_quote(text[i:i + 3])}")
            i += 3
            continue
        if host and ord(c) < 0x80 and c not in _HOST_OK:
            raise ValueError(f"invalid character {go_quote(c)} in host name")
        i += 1
    return text


def _parse_authority(authority: str) -> tuple[str | None, str]:
    at = authority.rfind("@")
    rest = authority[at + 1:] if at >= 0 else authority
    if rest.startswith("["):
        close = rest.rfind("]")
        if close < 0:
            raise ValueError("missing ']' in host")
        if not _valid_optional_port(rest[close + 1:]):
            raise ValueError(f"invalid port {go_quote(rest[close + 1:])} after host")
    elif (colon := rest.rfind(":")) != -1 and not _valid_optional_port(rest[colon:]):
        raise ValueError(f"invalid port {go_quote(rest[colon:])} after host")
    _unescape(rest, host=True)
    if at < 0:
        return None, rest
    userinfo = authority[:at]
    if not all(c in _USERINFO_OK for c in userinfo):
        raise ValueError("net/url: invalid userinfo")
    name, colon_found, password = userinfo.partition(":")
    for part in (name, password):
        _unescape(part)
    shown = _reescape(name) + (":" + _reescape(password) if colon_found else "")
    return shown, _percent_decode(rest)


def _reescape(part: str) -> str:
    """Userinfo as Go's Userinfo.String() writes it back (unescaped, then escaped again)."""
    raw = _percent_decode(part).encode("utf-8", "surrogateescape")
    return "".join(chr(b) if chr(b) in _USER_PASSWORD_OK else f"%{b:02X}" for b in raw)


def _percent_decode(text: str) -> str:
    """The unescaped text; bytes that are not UTF-8 survive as surrogates (Go strings are bytes)."""
    out, i = bytearray(), 0
    while i < len(text):
        if text[i] == "%":
            out.append(int(text[i + 1:i + 3], 16))
            i += 3
        else:
            out.extend(text[i].encode("utf-8", "surrogateescape"))
            i += 1
    return out.decode("utf-8", "surrogateescape")


def go_parse(raw: str, *, request_uri: bool = False) -> GoURL:
    """url.Parse (or url.ParseRequestURI with `request_uri`, which keeps `#` in the path); raises GoURLError."""
    text, fragment = (raw, "") if request_uri else raw.partition("#")[::2]
    try:
        url = _go_parse(text, request_uri)
    except ValueError as exc:
        raise GoURLError(text, str(exc)) from None
    if fragment:
        try:
            _unescape(fragment)
        except ValueError as exc:
            raise GoURLError(raw, str(exc)) from None
        return replace(url, fragment=fragment)
    return url


def _go_parse(raw: str, via_request: bool) -> GoURL:
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in raw):
        raise ValueError("net/url: invalid control character in URL")
    if raw == "" and via_request:
        raise ValueError("empty url")
    if raw == "*":
        return GoURL(path="*")
    scheme, rest = "", raw
    for i, c in enumerate(raw):
        if c.isascii() and c.isalpha():
            continue
        if c.isascii() and (c.isdigit() or c in "+-."):
            if i == 0:
                break
            continue
        if c == ":":
            if i == 0:
                raise ValueError("missing protocol scheme")
            scheme, rest = raw[:i].lower(), raw[i + 1:]
        break
    force_query, raw_query = False, ""
    if rest.endswith("?") and rest.count("?") == 1:
        force_query, rest = True, rest[:-1]
    else:
        rest, _, raw_query = rest.partition("?")
    if not rest.startswith("/"):
        if scheme:
            return GoURL(scheme=scheme, opaque=rest, raw_query=raw_query, force_query=force_query)
        if via_request:
            raise ValueError("invalid URI for request")
        if ":" in rest.partition("/")[0]:
            raise ValueError("first path segment in URL cannot contain colon")
    user, host = None, ""
    if (scheme or (not via_request and not rest.startswith("///"))) and rest.startswith("//"):
        authority, slash, path = rest[2:].partition("/")
        rest = slash + path
        user, host = _parse_authority(authority)
    _unescape(rest)
    return GoURL(scheme=scheme, user=user, host=host, path=rest, raw_query=raw_query, force_query=force_query)
