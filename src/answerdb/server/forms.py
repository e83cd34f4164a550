"""The pages that change something: sign in and out with the API key, and upload articles.

Signing in sets an HttpOnly, SameSite=Strict cookie (session.py); every form that writes
carries the session's CSRF token and is refused without it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from answerdb.errors import InputError
from answerdb.server.links import doc_url
from answerdb.server.pool import KnowledgeBase
from answerdb.server.session import COOKIE, LIFETIME_S
from answerdb.server.site import Site
from answerdb.server.uploads import read_upload
from answerdb.types import IngestReport

EXPIRED_FORM = "This form has expired: reload the page and send it again."


def form_router(kb: KnowledgeBase, site: Site) -> APIRouter:
    """Sign-in, sign-out and upload pages."""
    router = APIRouter(include_in_schema=False)
    access = site.access

    @router.api_route("/sign-in", methods=["GET", "HEAD"], response_class=HTMLResponse)
    def sign_in_page(request: Request, next: str = "/") -> HTMLResponse:
        return site.page(request, "sign-in.html", title="Sign in", next=safe_next(next))

    @router.post("/sign-in", response_model=None)
    def sign_in(request: Request, key: str = Form(""), next: str = Form("/")) -> Response:
        refused = _sign_in_refused(site, key.strip())
        if refused is not None or access.sessions is None:
            status, problem = refused or (403, "")
            return site.page(
                request, "sign-in.html", status, title="Sign in", next=next, problem=problem
            )
        response = RedirectResponse(safe_next(next), status_code=303)
        response.set_cookie(
            COOKIE,
            access.sessions.issue(),
            max_age=LIFETIME_S,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    @router.post("/sign-out", response_model=None)
    def sign_out(request: Request, csrf: str = Form("")) -> Response:
        _check_form(site, request, csrf)
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(COOKIE, httponly=True, samesite="strict")
        return response

    @router.api_route("/upload", methods=["GET", "HEAD"], response_class=HTMLResponse)
    def upload_page(request: Request) -> HTMLResponse:
        access.check(request, "writes", write=False)
        return site.page(request, "upload.html", title="Add articles")

    @router.post("/upload", response_class=HTMLResponse)
    async def upload(
        request: Request, file: Annotated[UploadFile, File()], csrf: Annotated[str, Form()] = ""
    ) -> HTMLResponse:
        _check_form(site, request, csrf)
        try:
            documents = read_upload(file.filename or "", await file.read())
        except InputError as exc:
            return site.page(request, "upload.html", 422, title="Add articles", problem=str(exc))

        def store() -> IngestReport:
            with kb.writing() as db:
                return db.add(documents)

        report = await run_in_threadpool(store)
        added = [{"doc_id": d, "url": doc_url(d)} for d in report.added]
        return site.page(request, "upload.html", title="Add articles", report=report, added=added)

    return router


def safe_next(target: str) -> str:
    """Where to go after signing in: a path on this site, never another site."""
    local = target.startswith("/") and not target.startswith(("//", "/\\"))
    return target if local else "/"


def _sign_in_refused(site: Site, key: str) -> tuple[int, str] | None:
    """Why a sign-in fails, as a status and a message; None when the key is right."""
    if site.access.sessions is None:
        return 403, "Signing in is off: this server has no API key (ANSWERDB_API_KEY)."
    if not key:
        return 401, "Enter the API key."
    if not site.access.key_matches(key):
        return 401, "wrong API key"
    return None


def _check_form(site: Site, request: Request, csrf: str) -> None:
    """A form that writes needs a signed-in session and that session's CSRF token."""
    site.access.check(request, "writes", write=False)
    token = site.access.session(request)
    sessions = site.access.sessions
    if token is None or sessions is None or not sessions.csrf_ok(token, csrf):
        raise HTTPException(403, EXPIRED_FORM)
