"""Security headers on every HTML page: a CSP that allows only the app's own scripts and
styles (and no inline script), no sniffing, no framing, a referrer policy."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from ..kb import CAREERS

PAGES = [
    "/",
    f"/q/{CAREERS}",
    "/q/no/such/article",
    "/ask",
    "/ask?q=What+is+an+anomaly%3F",
    "/ask?q=" + "x" * 2001,
    "/series/computer-vision",
    "/series/nope",
    "/docs",
    "/sign-in",
    "/upload",
]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_the_security_headers(client: TestClient, path: str) -> None:
    reply = client.get(path)
    assert reply.headers["content-type"].startswith("text/html")
    policy = dict(
        part.strip().split(" ", 1) for part in reply.headers["content-security-policy"].split(";")
    )
    assert policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert "unsafe-inline" not in reply.headers["content-security-policy"]
    assert reply.headers["x-content-type-options"] == "nosniff"
    assert reply.headers["x-frame-options"] == "DENY"
    assert reply.headers["referrer-policy"] == "same-origin"


@pytest.mark.parametrize("path", PAGES)
def test_no_page_has_inline_script_or_style(client: TestClient, path: str) -> None:
    page = client.get(path).text
    for tag in re.findall(r"<script\b[^>]*>", page):
        assert 'src="/' in tag, f"inline script on {path}: {tag}"
    assert "<style" not in page and " style=" not in page and " onclick=" not in page


def test_json_and_errors_carry_them_too(client: TestClient) -> None:
    for reply in (client.get("/api/stats"), client.get("/api/articles/nope")):
        assert reply.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in reply.headers["content-security-policy"]
