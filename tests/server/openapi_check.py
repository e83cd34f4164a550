"""Every JSON response the server tests receive, checked against the app's own /openapi.json,
as a client generated from it would read them: the status must be declared for the route and
the body must match that status's schema (JSON Schema 2020-12, which OpenAPI 3.1 uses)."""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import httpx
from fastapi import FastAPI
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

CHECKED: list[str] = []  # "METHOD path status" of each response checked, for the summary test


class SchemaCheckedClient(TestClient):
    """A TestClient that checks each JSON response against the app's OpenAPI description."""

    def request(self, method: str, url: Any, **kwargs: Any) -> httpx.Response:  # type: ignore[override]
        response = super().request(method, url, **kwargs)
        assert isinstance(self.app, FastAPI)
        check_response(self.app, method, response)
        return response


def check_response(app: FastAPI, method: str, response: httpx.Response) -> None:
    """Fail unless a JSON response is what /openapi.json declares for its route and status."""
    kind = response.headers.get("content-type", "")
    path = response.request.url.path
    if not kind.startswith("application/json") or path == app.openapi_url:
        return
    operation = _operation(app, method.lower(), path)
    if operation is None:
        assert not path.startswith("/api/"), f"{method} {path} is not in /openapi.json"
        return
    declared = operation["responses"]
    status = str(response.status_code)
    assert status in declared, f"{method} {path} answered {status}, not declared: {list(declared)}"
    schema = declared[status]["content"]["application/json"]["schema"]
    # The schema refers to #/components/...: validate inside a document that holds them.
    document = {**schema, "components": app.openapi().get("components", {})}
    Draft202012Validator(document).validate(response.json())
    CHECKED.append(f"{method.upper()} {path} {status}")


def _operation(app: FastAPI, method: str, path: str) -> dict[str, Any] | None:
    for pattern, item in _paths(app):
        if pattern.fullmatch(path) and method in item:
            found: dict[str, Any] = item[method]
            return found
    return None


@cache
def _paths(app: FastAPI) -> list[tuple[re.Pattern[str], dict[str, Any]]]:
    # Templated segments match anything: doc ids hold slashes ({doc_id:path}).
    found = []
    for template, item in app.openapi()["paths"].items():
        pattern = re.sub(r"\\\{[^}]+\\\}", ".+", re.escape(template))
        found.append((re.compile(pattern), item))
    # Literal paths first, so /api/series is not taken for /api/series/{slug}.
    return sorted(found, key=lambda pair: pair[0].pattern.count(".+"))
