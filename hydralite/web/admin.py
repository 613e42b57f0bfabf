"""The admin app (port 4445): Hydra's admin API; the `/admin` prefix is optional on the wire."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.types import ASGIApp

from hydralite.engine.client_registry import ClientRegistry
from hydralite.engine.core import Engine
from hydralite.engine.device_admin import DeviceAdmin
from hydralite.engine.flow_admin import FlowAdmin
from hydralite.web import admin_clients, admin_flows, admin_keys, admin_tokens, admin_trust, health, instrument
from hydralite.web.admin_device import routes as device_admin_routes
from hydralite.web.common import PathNormalizer, install_error_handlers


def create_app(engine: Engine, ping: health.Ping) -> ASGIApp:
    registry = ClientRegistry(engine)
    routes = [
        *admin_clients.routes(registry),
        *admin_tokens.routes(engine),
        *admin_keys.routes(engine),
        *admin_trust.routes(engine),
        *admin_flows.routes(FlowAdmin(engine, registry)),
        *device_admin_routes(DeviceAdmin(engine)),
        *health.routes(ping, prefix="/admin"),
        *instrument.metrics_routes(),
    ]
    app = Starlette(routes=routes)
    install_error_handlers(app, expose_debug=engine.config.expose_internal_errors, oauth=False)
    return PathNormalizer(app, admin_prefix=True)
