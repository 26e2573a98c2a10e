"""The generated spec of this store's `/v2/extensions/*` (SPEC GetOpenAPISpecification)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from provisioner.epcc import custom_apis as facts
from provisioner.localstore.context import context, run
from provisioner.localstore.extensions_entries import ExtensionsStorage
from provisioner.localstore.problems import json_response

JSON_TYPES = {
    "string": {"type": ["string", "null"]},
    "integer": {"type": ["integer", "null"]},
    "float": {"type": ["number", "null"]},
    "boolean": {"type": ["boolean", "null"]},
    "list": {"type": ["array", "null"]},
    "any": {},
}


async def openapi_endpoint(request: Request) -> Response:
    """SPEC GetOpenAPISpecification: typed schemas for this store's `/v2/extensions/*`."""
    ext = ExtensionsStorage(context(request).storage)
    apis = await run(ext.list_apis)
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    for api in sorted(apis, key=lambda a: a["slug"]):
        _, fields = await run(ext.api_with_fields, api["id"], by_slug=False)
        name = api["api_type"]
        properties: dict[str, Any] = {"id": {"type": "string"}, "type": {"const": name}}
        for field in fields:
            properties[field["slug"]] = {**JSON_TYPES[field["field_type"]]}
            if field["description"]:
                properties[field["slug"]]["description"] = field["description"]
        schemas[name] = {"type": "object", "properties": properties}
        ref = {"$ref": f"#/components/schemas/{name}"}
        one = {"content": {"application/json": {"schema": {"properties": {"data": ref}}}}}
        many = {
            "content": {
                "application/json": {
                    "schema": {"properties": {"data": {"type": "array", "items": ref}}}
                }
            }
        }
        base = f"{facts.EXTENSIONS_PREFIX}/{api['slug']}"
        paths[base] = {
            "get": {"summary": f"List {api['name']}", "responses": {"200": many}},
            "post": {"summary": f"Create {api['name']}", "requestBody": one,
                     "responses": {"201": one}},
        }  # fmt: skip
        paths[base + "/{id}"] = {
            "get": {"responses": {"200": one}},
            "put": {"requestBody": one, "responses": {"200": one}},
            "delete": {"responses": {"204": {"description": "No Content"}}},
        }
    spec = {
        "openapi": "3.1.0",
        "info": {"title": "Custom APIs", "version": "1"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
    return json_response(spec)
