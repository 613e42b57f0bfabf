"""`perform authorization-code` beyond the happy path: --no-shutdown keeps serving and prints each sign-in's
tokens, a refused sign-in and an unreachable token endpoint end in one error line, the flags reach the URL."""

from __future__ import annotations

import asyncio
import json
import sys

import httpx

from tests.conftest import free_port
from tests.e2e.browser import Browser, query


async def start(server, client: dict, port: int, *extra: str) -> tuple[asyncio.subprocess.Process, str]:
    """Start the command; return it and the authorization URL it prints."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hydralite", "perform", "authorization-code", "--no-open", "-p", str(port),
        "--client-id", client["client_id"], "--client-secret", client["client_secret"], "-e", server.public_url,
        *extra, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    while True:
        line = (await asyncio.wait_for(proc.stderr.readline(), timeout=30)).decode()
        assert line, "perform authorization-code exited early"
        if line.startswith("http"):
            return proc, line.strip()


async def finish(proc: asyncio.subprocess.Process) -> tuple[int, str, str]:
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    return proc.returncode, out.decode(), err.decode()


async def test_no_shutdown_prints_tokens_of_each_sign_in(server, admin, make_client):
    port = free_port()
    client = await make_client(grant_types=["authorization_code", "refresh_token"], scope="openid offline",
                               redirect_uris=[f"http://127.0.0.1:{port}/callback"])
    proc, url = await start(server, client, port, "--no-shutdown", "--format", "json")
    browser = Browser(server.public_url, admin)
    try:
        seen, urls = [], []
        for subject in ("first@example.com", "second@example.com"):
            # each sign-in has its own state and PKCE pair: the home route's /perform-flow leads to the current one
            fresh = (await browser.get(f"http://127.0.0.1:{port}/perform-flow")).headers["location"]
            urls.append(fresh)
            back = await browser.consent(await browser.login(await browser.start(fresh), subject=subject))
            done = await browser.get(back.headers["location"])
            seen.append(json.loads(await asyncio.wait_for(proc.stdout.readline(), timeout=30)))
            assert done.status_code == 200 and seen[-1]["access_token"] in done.text
            assert f'href="http://127.0.0.1:{port}/"' in done.text  # back to the welcome page for the next one
            # the used state is gone: replaying the callback is refused, and the command keeps serving
            replay = await browser.get(back.headers["location"])
            assert replay.status_code == 500 and "state in the callback does not match" in replay.text
        assert proc.returncode is None and urls[0] == url  # still serving; the first sign-in used the printed URL
        start_page = await browser.get(f"http://127.0.0.1:{port}/")
        assert start_page.status_code == 200 and "/oauth2/auth?" in start_page.text
    finally:
        await browser.close()
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
    assert len({t["access_token"] for t in seen}) == 2
    first, second = query(urls[0]), query(urls[1])
    for name in ("state", "nonce", "code_challenge"):
        assert first[name] != second[name], name
    for tokens in seen:
        assert tokens["access_token"].startswith("ory_at_") and tokens["refresh_token"].startswith("ory_rt_")
    subjects = []
    for tokens in seen:
        info = await admin.post("/admin/oauth2/introspect", data={"token": tokens["access_token"]})
        subjects.append(info.json()["sub"])
    assert subjects == ["first@example.com", "second@example.com"]


async def test_refused_sign_in_is_one_error_line_and_flags_reach_the_url(server, admin, make_client):
    port = free_port()
    redirect = f"http://127.0.0.1:{port}/cb"
    client = await make_client(grant_types=["authorization_code"], scope="openid profile",
                               audience=["aud-x", "aud-y", "aud-z"], redirect_uris=[redirect])
    # --audience and --prompt are string slices, as in Hydra: repeated or comma-separated.
    proc, url = await start(server, client, port, "--redirect", redirect, "--scope", "openid,profile",
                            "--audience", "aud-x,aud-y", "--audience", "aud-z", "--prompt", "login",
                            "--prompt", "consent", "--max-age", "60", "--state", "state-of-the-art-1234")
    params = query(url)
    assert params["redirect_uri"] == redirect and params["scope"] == "openid profile"
    assert params["audience"] == "aud-x aud-y aud-z" and params["prompt"] == "login consent"
    assert params["max_age"] == "60"
    assert params["state"] == "state-of-the-art-1234" and params["code_challenge_method"] == "S256"
    browser = Browser(server.public_url, admin)
    try:
        back = await browser.login(await browser.start(url), reject=True)
        assert back.headers["location"].startswith(redirect + "?")
        page = await browser.get(back.headers["location"])
        assert page.status_code == 500 and "access_denied" in page.text
    finally:
        await browser.close()
    code, out, err = await finish(proc)
    assert code == 1 and out == ""
    assert err.strip().splitlines()[-1].startswith("Error: the authorization server answered access_denied")
    assert "Traceback" not in err


async def test_unreachable_token_endpoint_is_one_error_line(server, make_client):
    port = free_port()
    client = await make_client(grant_types=["authorization_code"], scope="openid",
                               redirect_uris=[f"http://127.0.0.1:{port}/callback"])
    proc, url = await start(server, client, port, "--token-url", "http://127.0.0.1:9/oauth2/token",
                            "--max-age", "0")
    assert query(url)["max_age"] == "0" and "prompt" not in query(url)
    try:
        async with httpx.AsyncClient(timeout=30) as http:
            page = await http.get(f"http://127.0.0.1:{port}/callback",
                                  params={"code": "some-code", "state": query(url)["state"]})
        assert page.status_code == 500 and "could not reach the token endpoint" in page.text
        code, out, err = await finish(proc)
    finally:
        if proc.returncode is None:
            proc.kill()
    assert code == 1 and out == "" and "Traceback" not in err
    assert err.strip().splitlines()[-1].startswith("Error: could not reach the token endpoint at http://127.0.0.1:9")


async def test_form_post_response_mode(server, admin, make_client):
    """With --response-mode form_post the code arrives in a POST to the callback server."""
    import re
    from html import unescape

    port = free_port()
    client = await make_client(grant_types=["authorization_code"], scope="openid",
                               redirect_uris=[f"http://127.0.0.1:{port}/callback"])
    proc, url = await start(server, client, port, "--response-mode", "form_post", "--scope", "openid",
                            "--format", "json")
    assert query(url)["response_mode"] == "form_post" and "max_age" not in query(url)
    browser = Browser(server.public_url, admin)
    try:
        page = await browser.consent(await browser.login(await browser.start(url)))
        assert page.status_code == 200 and 'method="post"' in page.text
        action = unescape(re.search(r'action="([^"]+)"', page.text).group(1))
        fields = {unescape(k): unescape(v) for k, v in re.findall(r'name="([^"]+)" value="([^"]*)"', page.text)}
        assert action == f"http://127.0.0.1:{port}/callback" and fields["code"]
        done = await browser.http.post(action, data=fields)
        code, out, err = await finish(proc)
        assert done.status_code == 200 and json.loads(out)["access_token"] in done.text
    finally:
        await browser.close()
        if proc.returncode is None:
            proc.kill()
    assert code == 0, err
    tokens = json.loads(out)
    assert tokens["access_token"].startswith("ory_at_") and tokens["id_token"].count(".") == 2
