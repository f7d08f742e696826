"""Small helpers to write each service's OpenAPI 3.0 description (served at `/api/<service>/openapi.json`)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
        }
    },
}
UUID = {"type": "string", "format": "uuid"}
TIMESTAMP = {"type": "string", "format": "date-time"}


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def json_body(schema: dict[str, Any], required: bool = True) -> dict[str, Any]:
    return {"required": required, "content": {"application/json": {"schema": schema}}}


def answer(description: str, schema: dict[str, Any] | None = None, content_type: str = "application/json"
           ) -> dict[str, Any]:
    if schema is None:
        return {"description": description}
    return {"description": description, "content": {content_type: {"schema": schema}}}


def errors(*statuses: int) -> dict[str, Any]:
    return {str(s): answer("error", ref("Error")) for s in statuses}


def operation(summary: str, responses: dict[str, Any], *, body: dict[str, Any] | None = None,
              params: list[dict[str, Any]] | None = None, auth: bool = True) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": responses}
    if body is not None:
        op["requestBody"] = body
    if params:
        op["parameters"] = params
    if auth:
        op["security"] = [{"bearer": []}]
        op["responses"] = {**errors(401), **op["responses"]}
    op["responses"] = {**errors(503), **op["responses"]}
    return op


def path_id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": UUID}


def query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def document(title: str, paths: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": title, "version": "1"},
        "paths": paths,
        "components": {
            "schemas": {"Error": ERROR, **schemas},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def route(spec: dict[str, Any]) -> web.RouteDef:
    """The route serving `spec` at its service's `/api/<service>/openapi.json`."""
    service = spec["info"]["title"].split()[-1].lower()

    async def handler(request: web.Request) -> web.Response:
        return web.json_response(spec)

    return web.get(f"/api/{service}/openapi.json", handler)
