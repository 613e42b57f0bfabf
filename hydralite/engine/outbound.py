"""Outbound HTTP: every call hydralite makes to a URL a client or an operator gave it.

jwks_uri, sector_identifier_uri, the token hook and back-channel logout all go through here, never
through ad-hoc httpx calls, so that each has a timeout, a size limit and one address policy:
- only http and https;
- never link-local or cloud metadata addresses (169.254.0.0/16, fe80::/10, fd00:ec2::254);
- with `clients.http.disallow_private_ip_ranges` (Hydra's name, default false) also no loopback,
  private or otherwise non-public address, except the URLs listed in
  `clients.http.private_ip_exception_urls` (exact match, as Hydra).
The host is resolved and every address checked before the request is sent, and the request then goes to a checked
address (URL host replaced by the IP, `Host` header and TLS SNI/certificate name kept): httpx never resolves the
name again, so a host that rebinds between the check and the connect cannot slip past the policy.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson

from hydralite.config import Config

DEFAULT_TIMEOUT = 5.0
DEFAULT_MAX_BYTES = 1 << 20  # 1 MiB

_TLS_CLIENTS = 32  # https hosts that keep a pooled client; further hosts get a one-off client per call
_METADATA = (ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254"))


class OutboundError(Exception):
    """Refused by policy, failed, timed out, or answered something unusable (the reason is safe to show)."""


class ResponseTooLarge(OutboundError):
    """The answer came (its status is known) but its body is over the size limit."""


class Response:
    """A finished outbound call: status, headers and a body read up to the size limit."""

    __slots__ = ("status_code", "headers", "content")

    def __init__(self, status_code: int, headers: httpx.Headers, content: bytes):
        self.status_code = status_code
        self.headers = headers
        self.content = content

    def json(self) -> Any:
        try:
            return orjson.loads(self.content)
        except orjson.JSONDecodeError as exc:
            raise OutboundError("the response is not valid JSON") from exc


def _forbidden(address: ipaddress.IPv4Address | ipaddress.IPv6Address, strict: bool) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address.is_link_local or address in _METADATA or address.is_multicast or address.is_unspecified:
        return True
    return strict and not address.is_global


class Outbound:
    """One pooled httpx client per process; built lazily so that servers which never call out pay nothing."""

    def __init__(self, config: Config):
        self.strict = config.http_disallow_private_ip_ranges
        self.exceptions = frozenset(config.http_private_ip_exception_urls)
        self._client: httpx.AsyncClient | None = None
        # https connections are pooled by (IP, port) only, whatever SNI name opened them: one pool per hostname, so a
        # connection verified for one name is never reused for another name served from the same address.
        self._tls_clients: dict[str, httpx.AsyncClient] = {}

    @staticmethod
    def _new_client() -> httpx.AsyncClient:
        # Redirects are not followed: a redirect could lead past the address policy.
        return httpx.AsyncClient(follow_redirects=False, trust_env=False,
                                 limits=httpx.Limits(max_connections=100, max_keepalive_connections=20))

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = self._new_client()
        return self._client

    async def aclose(self) -> None:
        clients, self._tls_clients = list(self._tls_clients.values()), {}
        if self._client is not None:
            clients.append(self._client)
            self._client = None
        for client in clients:
            await client.aclose()

    async def check(self, url: str) -> None:
        """Raise OutboundError unless `url` may be called under the address policy."""
        await self._checked_addresses(url)

    async def _checked_addresses(self, url: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
        """The addresses `url`'s host resolves to, in resolver order, once every one passed the policy."""
        try:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as exc:
            raise OutboundError("the URL is malformed") from exc
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise OutboundError("only http and https URLs may be called")
        strict = self.strict and url not in self.exceptions
        host = parts.hostname
        try:
            addresses = [ipaddress.ip_address(host)]
        except ValueError:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError) as exc:
                raise OutboundError(f"the host {host!r} could not be resolved") from exc
            addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
        if not addresses or any(_forbidden(a, strict) for a in addresses):
            raise OutboundError(f"the host {host!r} resolves to an address that may not be called")
        return list(dict.fromkeys(addresses))

    async def request(self, method: str, url: str, *, content: bytes | None = None,
                      headers: Mapping[str, str] | None = None, timeout: float = DEFAULT_TIMEOUT,
                      max_bytes: int = DEFAULT_MAX_BYTES) -> Response:
        """Send one request under the policy; the whole call, body included, is bounded by `timeout`."""
        addresses = await self._checked_addresses(url)
        target = httpx.URL(url)
        sent = httpx.Headers(headers)
        sent["Host"] = target.netloc.decode("ascii")
        extensions: dict[str, Any] = {}
        client: httpx.AsyncClient = self.client
        one_off: httpx.AsyncClient | None = None
        if target.scheme == "https":
            name = target.raw_host.decode("ascii")
            extensions["sni_hostname"] = name  # TLS SNI and certificate verification use the name, not the IP
            pooled = self._tls_clients.get(name) or self._tls_client(name)
            client = pooled if pooled is not None else (one_off := self._new_client())
        try:
            async with asyncio.timeout(timeout):
                for address in addresses[:-1]:  # the checked addresses in resolver order, as a resolver-led connect
                    try:
                        return await self._send(client, method, target.copy_with(host=str(address)), content, sent,
                                                extensions, timeout, max_bytes)
                    except httpx.ConnectError:
                        continue
                return await self._send(client, method, target.copy_with(host=str(addresses[-1])), content, sent,
                                        extensions, timeout, max_bytes)
        except TimeoutError as exc:
            raise OutboundError(f"no complete answer within {timeout:g}s") from exc
        except httpx.HTTPError as exc:
            raise OutboundError(f"the request failed ({type(exc).__name__})") from exc
        finally:
            if one_off is not None:
                await one_off.aclose()

    def _tls_client(self, host: str) -> httpx.AsyncClient | None:
        """A pooled client for this https host, or None once the bounded set of pooled hosts is full."""
        if len(self._tls_clients) >= _TLS_CLIENTS:
            return None
        client = self._tls_clients[host] = self._new_client()
        return client

    @staticmethod
    async def _send(client: httpx.AsyncClient, method: str, url: httpx.URL, content: bytes | None,
                    headers: httpx.Headers, extensions: dict[str, Any], timeout: float, max_bytes: int) -> Response:
        request = client.build_request(method, url, content=content, headers=headers, timeout=timeout,
                                       extensions=extensions)
        response = await client.send(request, stream=True)
        try:
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise ResponseTooLarge(f"the response is larger than {max_bytes} bytes")
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > max_bytes:
                    raise ResponseTooLarge(f"the response is larger than {max_bytes} bytes")
            return Response(response.status_code, response.headers, bytes(body))
        finally:
            await response.aclose()

    async def get_json(self, url: str, *, timeout: float = DEFAULT_TIMEOUT,
                       max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
        """GET a JSON document; any status but 200 is an error."""
        response = await self.request("GET", url, headers={"Accept": "application/json"}, timeout=timeout,
                                      max_bytes=max_bytes)
        if response.status_code != 200:
            raise OutboundError(f"the server answered {response.status_code}")
        return response.json()

    async def post_json(self, url: str, body: Any, *, headers: Mapping[str, str] | None = None,
                        timeout: float = DEFAULT_TIMEOUT, max_bytes: int = DEFAULT_MAX_BYTES) -> Response:
        """POST a JSON body; the caller decides what each status means."""
        sent = {"Content-Type": "application/json", **(headers or {})}
        return await self.request("POST", url, content=orjson.dumps(body), headers=sent, timeout=timeout,
                                  max_bytes=max_bytes)

    async def post_form(self, url: str, form: Mapping[str, str], *, headers: Mapping[str, str] | None = None,
                        timeout: float = DEFAULT_TIMEOUT, max_bytes: int = DEFAULT_MAX_BYTES) -> Response:
        """POST an application/x-www-form-urlencoded body (back-channel logout)."""
        sent = {"Content-Type": "application/x-www-form-urlencoded", **(headers or {})}
        content = httpx.QueryParams(dict(form)).__str__().encode()
        return await self.request("POST", url, content=content, headers=sent, timeout=timeout, max_bytes=max_bytes)
