"""The API docs at /docs: Swagger UI served from a Python package (fastapi-offline ships its
files), started by a script of our own, so the page works offline and under a CSP that
allows no inline script. There is no ReDoc page."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from answerdb.server.site import Site

ASSETS = "/docs-assets"


def swagger_assets() -> Path:
    """The folder that holds swagger-ui-bundle.js and swagger-ui.css."""
    return Path(str(files("fastapi_offline") / "static"))


def add_docs(app: FastAPI, site: Site) -> None:
    """Serve Swagger UI at /docs for the app's /openapi.json."""
    app.mount(ASSETS, StaticFiles(directory=swagger_assets()), name="docs-assets")

    @app.api_route("/docs", methods=["GET", "HEAD"], include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        return site.page(request, "docs.html", title="API", assets=ASSETS)
