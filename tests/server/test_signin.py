"""Browsers sign in with the API key: an HttpOnly, SameSite=Strict cookie that --protect-reads
accepts, and writes from it only with the session's CSRF token; the upload form uses both."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from answerdb.embed import Embedder
from answerdb.server.forms import safe_next
from answerdb.server.session import COOKIE, LIFETIME_S, Sessions

from .conftest import KEY, make_app
from .openapi_check import SchemaCheckedClient

ARTICLE = {"doc_id": "notes/tides", "question": "What causes tides?", "text": "The moon pulls."}


@pytest.fixture
def protected(kb_copy: Path, minilm: Embedder) -> Iterator[TestClient]:
    app = make_app(kb_copy, minilm, protect_reads=True)
    with SchemaCheckedClient(app) as client:
        yield client
    app.state.kb.close()


def _sign_in(client: TestClient, key: str = KEY, next: str = "/") -> object:
    return client.post("/sign-in", data={"key": key, "next": next}, follow_redirects=False)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no CSRF field"
    return found.group(1)


def test_a_protected_page_offers_the_sign_in_form(protected: TestClient) -> None:
    reply = protected.get("/series/computer-vision")
    assert reply.status_code == 401 and 'action="/sign-in"' in reply.text
    assert 'name="next" value="/series/computer-vision"' in reply.text


def test_a_wrong_key_says_so(protected: TestClient) -> None:
    reply = _sign_in(protected, "nope")
    assert reply.status_code == 401 and "wrong API key" in reply.text  # type: ignore[attr-defined]
    assert COOKIE not in protected.cookies
    api = protected.get("/api/stats", headers={"X-API-Key": "nope"})
    assert api.status_code == 401 and api.json()["detail"] == "wrong API key"


def test_signing_in_sets_a_strict_http_only_cookie(protected: TestClient) -> None:
    reply = _sign_in(protected, next="/series/computer-vision")
    assert reply.status_code == 303  # type: ignore[attr-defined]
    assert reply.headers["location"] == "/series/computer-vision"  # type: ignore[attr-defined]
    cookie = reply.headers["set-cookie"]  # type: ignore[attr-defined]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and KEY not in cookie
    assert protected.get("/series/computer-vision").status_code == 200
    assert protected.get("/api/stats").status_code == 200  # the page's script reads with it


def test_a_cookie_write_needs_the_csrf_token(protected: TestClient) -> None:
    _sign_in(protected)
    refused = protected.post("/api/documents", json=ARTICLE)
    assert refused.status_code == 403 and "X-CSRF-Token" in refused.json()["detail"]
    token = _csrf(protected.get("/").text)
    wrong = protected.post("/api/documents", json=ARTICLE, headers={"X-CSRF-Token": "x" + token})
    assert wrong.status_code == 403
    added = protected.post("/api/documents", json=ARTICLE, headers={"X-CSRF-Token": token})
    assert added.status_code == 201


def test_upload_form(protected: TestClient) -> None:
    _sign_in(protected)
    form = protected.get("/upload")
    assert form.status_code == 200 and 'enctype="multipart/form-data"' in form.text
    files = {"file": ("otters.md", b"# How do otters sleep?\n\nHolding hands.\n", "text/markdown")}
    forged = protected.post("/upload", files=files, data={"csrf": "forged"})
    assert forged.status_code == 403 and "expired" in forged.text
    done = protected.post("/upload", files=files, data={"csrf": _csrf(form.text)})
    assert done.status_code == 200 and 'href="/q/upload/otters"' in done.text
    assert protected.get("/q/upload/otters").status_code == 200
    bad = protected.post(
        "/upload", files={"file": ("x.exe", b"MZ")}, data={"csrf": _csrf(form.text)}
    )
    assert bad.status_code == 422 and "unsupported format" in bad.text


def test_upload_needs_a_sign_in(write_client: TestClient) -> None:
    assert write_client.get("/").status_code == 200  # reads are open here
    assert 'href="/sign-in"' in write_client.get("/").text
    reply = write_client.get("/upload")
    assert reply.status_code == 401 and 'action="/sign-in"' in reply.text


def test_signing_out_needs_the_token_and_ends_the_session(protected: TestClient) -> None:
    _sign_in(protected)
    token = _csrf(protected.get("/").text)
    assert protected.post("/sign-out", data={"csrf": "x"}).status_code == 403
    protected.post("/sign-out", data={"csrf": token})
    assert protected.get("/").status_code == 401


def test_a_tampered_or_expired_cookie_is_refused(protected: TestClient) -> None:
    _sign_in(protected)
    token = protected.cookies[COOKIE]
    expires, nonce, signature = token.split(".")
    protected.cookies.clear()
    protected.cookies.set(COOKIE, f"{int(expires) + 9999}.{nonce}.{signature}")
    assert protected.get("/").status_code == 401
    sessions = Sessions(KEY)
    old = sessions.issue(now=1000.0)
    assert sessions.valid(old, now=1000.0 + LIFETIME_S - 1)
    assert not sessions.valid(old, now=1000.0 + LIFETIME_S + 1)
    assert not Sessions("another key").valid(old, now=1000.0)
    assert not sessions.valid("é.x.y") and not sessions.csrf_ok(old, "é")


def test_signing_in_without_a_configured_key_is_off(kb_copy: Path, minilm: Embedder) -> None:
    app = make_app(kb_copy, minilm, api_key=None)
    with SchemaCheckedClient(app) as client:
        assert "Signing in is off" in client.get("/sign-in").text
        assert _sign_in(client, "anything").status_code == 403  # type: ignore[attr-defined]
        assert 'href="/sign-in"' not in client.get("/").text
    app.state.kb.close()


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/q/a?b=1", "/q/a?b=1"),
        ("//evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("", "/"),
    ],
)
def test_sign_in_goes_back_only_to_this_site(target: str, expected: str) -> None:
    assert safe_next(target) == expected
