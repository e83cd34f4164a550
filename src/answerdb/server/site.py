"""What every page shares: the templates with their helpers, the site's name, and whether the
reader is signed in (for the header's links and the forms' CSRF token)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from answerdb.server.config import ServerSettings
from answerdb.server.links import doc_url
from answerdb.server.render import markdown, passage, plain_text
from answerdb.server.security import Access
from answerdb.server.session import CSRF_FIELD

HERE = Path(__file__).resolve().parent


def templates() -> Jinja2Templates:
    """The page templates, with the helpers they call."""
    found = Jinja2Templates(directory=HERE / "templates")
    found.env.globals.update(doc_url=doc_url, markdown=markdown, passage=passage)
    found.env.globals["csrf_field"] = CSRF_FIELD
    found.env.filters["plain"] = plain_text
    return found


class Site:
    """Renders pages for one server."""

    def __init__(self, settings: ServerSettings, access: Access) -> None:
        self.settings = settings
        self.access = access
        self.templates = templates()

    def page(self, request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
        """Template ``name`` with ``context`` and what the header and forms need."""
        context.setdefault("title", self.settings.title)
        context["site"] = self.settings.title
        context["can_sign_in"] = self.access.api_key is not None
        context["signed_in"] = self.access.session(request) is not None
        context["csrf"] = self.access.csrf_token(request)
        return self.templates.TemplateResponse(request, name, context, status_code=status)
