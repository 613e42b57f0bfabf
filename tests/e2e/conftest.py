"""Fixtures shared by the browser-flow tests."""

from __future__ import annotations

import pytest

from tests.e2e.browser import Browser


@pytest.fixture
async def browser(server, admin):
    """A cookie-keeping browser that answers login and consent through the admin API."""
    b = Browser(server.public_url, admin)
    yield b
    await b.close()
