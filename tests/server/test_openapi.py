"""/openapi.json describes the API whole: a typed response for every route, the errors each
may answer, and the API key as a security scheme. Every JSON response the server tests get is
checked against it (openapi_check.py); here, one request per route and error besides."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from fastapi.testclient import TestClient

from answerdb.embed import Embedder
from answerdb.types import Answer, Citation, Hit, Related

from ..kb import CAREERS
from .conftest import KEY, make_app
from .openapi_check import CHECKED, SchemaCheckedClient, check_response

AUTH = {"Authorization": f"Bearer {KEY}"}


def _spec(client: TestClient) -> dict[str, Any]:
    spec: dict[str, Any] = client.get("/openapi.json").json()
    return spec


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].split("/")[-1]]
    return schema


def test_every_route_has_a_typed_response(client: TestClient) -> None:
    spec = _spec(client)
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            ok = next(code for code in operation["responses"] if code.startswith("2"))
            schema = operation["responses"][ok]["content"]["application/json"]["schema"]
            schema = _resolve(spec, schema.get("items", schema))
            # Any would be {} (no type, no properties): a generated client learns nothing.
            assert schema.get("properties"), f"{method.upper()} {path} answers an untyped {ok}"


@pytest.mark.parametrize(
    ("method", "path", "codes"),
    [
        ("post", "/api/ask", {"413", "415", "422"}),
        ("get", "/api/search", {"422"}),
        ("get", "/api/articles/{doc_id}", {"404"}),
        ("get", "/api/series/{slug}", {"404"}),
        ("post", "/api/documents", {"401", "403", "413", "415", "422"}),
        ("delete", "/api/documents/{doc_id}", {"401", "403", "404"}),
    ],
)
def test_errors_are_declared(client: TestClient, method: str, path: str, codes: set[str]) -> None:
    spec = _spec(client)
    responses = spec["paths"][path][method]["responses"]
    assert codes <= set(responses)
    for code in codes:
        schema = responses[code]["content"]["application/json"]["schema"]
        assert _resolve(spec, schema)["required"] == ["detail"]


def test_no_route_declares_an_error_shape_the_server_never_sends(client: TestClient) -> None:
    # FastAPI's own 422 body is a list of objects; ours is ErrorOut, and says so everywhere.
    assert "HTTPValidationError" not in _spec(client)["components"]["schemas"]


def test_the_api_key_is_a_security_scheme(client: TestClient) -> None:
    spec = _spec(client)
    schemes = spec["components"]["securitySchemes"]
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "X-API-Key"}
    assert schemes["bearer"]["scheme"] == "bearer"
    # Writes ask for either; reads are open on this server, so they ask for nothing.
    write = spec["paths"]["/api/documents"]["post"]
    assert {"apiKey": []} in write["security"] and {"bearer": []} in write["security"]
    assert "security" not in spec["paths"]["/api/search"]["get"]


def test_protected_reads_declare_the_key_and_401(kb_copy: Path, minilm: Embedder) -> None:
    app = make_app(kb_copy, minilm, protect_reads=True)
    with SchemaCheckedClient(app) as client:
        search = _spec(client)["paths"]["/api/search"]["get"]
        assert {"apiKey": []} in search["security"] and "401" in search["responses"]
        assert client.get("/api/stats").status_code == 401
    app.state.kb.close()


def test_the_answer_models_hold_every_field_of_the_dataclasses(client: TestClient) -> None:
    schemas = _spec(client)["components"]["schemas"]
    for model, kind in [("AnswerOut", Answer), ("HitOut", Hit), ("RelatedOut", Related)]:
        missing = {f.name for f in dataclasses.fields(kind)} - set(schemas[model]["properties"])
        assert not missing, f"{model} lacks {missing}: add them to server/schemas.py"
    citation = {f.name for f in dataclasses.fields(Citation)}
    assert citation <= set(schemas["CitationOut"]["properties"])


def test_every_route_and_error_matches_its_schema(write_client: TestClient) -> None:
    """One request for each route and each error it declares; the client checks them all."""
    before = len(CHECKED)
    doc = {"doc_id": "notes/tides", "question": "What causes tides?", "text": "The moon."}
    requests: list[tuple[str, str, dict[str, Any], int]] = [
        ("GET", "/health", {}, 200),
        ("GET", "/api/stats", {}, 200),
        ("GET", "/api/search", {"params": {"q": "anomaly", "k": 2}}, 200),
        ("GET", "/api/search", {"params": {"q": ""}}, 422),
        ("POST", "/api/ask", {"json": {"question": "What is an anomaly?"}}, 200),
        (
            "POST",
            "/api/ask",
            {"content": "{bad", "headers": {"content-type": "application/json"}},
            422,
        ),
        ("POST", "/api/ask", {"content": "hi", "headers": {"content-type": "text/plain"}}, 415),
        ("GET", f"/api/articles/{CAREERS}", {}, 200),
        ("GET", "/api/articles/nope", {}, 404),
        ("GET", f"/api/related/{CAREERS}", {"params": {"k": 2}}, 200),
        ("GET", "/api/series", {}, 200),
        ("GET", "/api/series/computer-vision", {}, 200),
        ("GET", "/api/series/nope", {}, 404),
        ("GET", "/api/documents", {"params": {"limit": 3}}, 200),
        ("POST", "/api/documents", {"json": doc}, 401),
        ("POST", "/api/documents", {"json": doc, "headers": AUTH}, 201),
        ("POST", "/api/documents", {"json": {"text": ""}, "headers": AUTH}, 422),
        ("DELETE", "/api/documents/notes/tides", {"headers": AUTH}, 200),
        ("DELETE", "/api/documents/notes/tides", {"headers": AUTH}, 404),
    ]
    for method, path, options, status in requests:
        reply = write_client.request(method, path, **options)
        assert reply.status_code == status, (method, path, reply.text)
    assert len(CHECKED) - before == len(requests)


def test_the_check_catches_a_response_off_its_schema(client: TestClient) -> None:
    request = httpx.Request("GET", "http://testserver/api/series/x")
    wrong = httpx.Response(200, json={"name": 3}, request=request)
    with pytest.raises(jsonschema.ValidationError):
        check_response(client.app, "GET", wrong)  # type: ignore[arg-type]
    undeclared = httpx.Response(418, content=json.dumps({"detail": "x"}).encode(), request=request)
    undeclared.headers["content-type"] = "application/json"
    with pytest.raises(AssertionError, match="not declared"):
        check_response(client.app, "GET", undeclared)  # type: ignore[arg-type]
