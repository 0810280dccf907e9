"""Operations: maintenance mode and the OpenAPI document."""
from __future__ import annotations

from flask import Response

from ..authority import maintenance
from . import render
from .blueprint import actor, admin, audited, body, ctx, json_response, note
from .inputs import Query


@admin.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 description of this API (public: it holds no data)."""
    resp = json_response(ctx().spec.served(ctx().base_url, ctx().cfg.max_page_size))
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp


@admin.get("/maintenance")
def get_maintenance() -> Response:
    Query(())
    return json_response(render.maintenance(maintenance.status(ctx().env)))


@admin.post("/maintenance")
@audited("maintenance.set")
def set_maintenance() -> Response:
    """{"enabled": true} pauses newOrder (503, Retry-After: 300) on every instance."""
    data = body("MaintenanceUpdate")
    note(target="maintenance", enabled=data["enabled"])
    row = maintenance.set_enabled(ctx().env, data["enabled"], actor=actor().username)
    return json_response(render.maintenance(row))
