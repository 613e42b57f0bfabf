"""Talking to a running hydralite (or Hydra) over HTTP, as Hydra's CLI does; errors become one line."""

from __future__ import annotations

import argparse
import os
from typing import Any

import httpx

from hydralite.cli import CommandError

ADMIN_DEFAULT = "http://127.0.0.1:4445"
PUBLIC_DEFAULT = "http://127.0.0.1:4444"


def add_endpoint_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-e", "--endpoint", help="the API URL (default $ORY_SDK_URL, else the local server)")
    parser.add_argument("--skip-tls-verify", action="store_true", help="do not verify TLS certificates")
    parser.add_argument("-H", "--http-header", action="append", default=[], help="extra header 'Name: value'")


def base_url(args: argparse.Namespace, public: bool) -> str:
    url = getattr(args, "endpoint", None) or os.environ.get("ORY_SDK_URL") or (
        PUBLIC_DEFAULT if public else ADMIN_DEFAULT)
    return url.rstrip("/")


def _headers(args: argparse.Namespace) -> dict[str, str]:
    out = {}
    for item in getattr(args, "http_header", []) or []:
        name, sep, value = item.partition(":")
        if not sep:
            raise CommandError(f"invalid --http-header {item!r}: use 'Name: value'")
        out[name.strip()] = value.strip()
    return out


def request(args: argparse.Namespace, method: str, path: str, *, public: bool = False, expect: tuple[int, ...] = (
        200, 201, 204), **kwargs: Any) -> httpx.Response:
    url = base_url(args, public)
    which = "public" if public else "admin"
    try:
        with httpx.Client(base_url=url, timeout=30, verify=not getattr(args, "skip_tls_verify", False),
                          headers=_headers(args)) as client:
            response = client.request(method, path, **kwargs)
    except httpx.HTTPError as exc:
        raise CommandError(f"could not reach the {which} API at {url} ({type(exc).__name__}): is the server "
                           "running (`make run`)? Set --endpoint or ORY_SDK_URL to its URL.") from exc
    if response.status_code not in expect:
        raise CommandError(f"{method} {url}{path} failed with {response.status_code}: {describe(response)}")
    return response


def describe(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            return str(error.get("message") or error)
        text = ": ".join(str(v) for v in (error, body.get("error_description")) if v)
        return text or str(body)
    return str(body)[:300]
