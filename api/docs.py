"""The API's documentation pages, served offline: Swagger UI at /docs, ReDoc at /redoc, the OpenAPI document
at /openapi.json (and under the API prefix).

Their JavaScript and CSS come from the fastapi-offline wheel (MIT), which ships the swagger-ui-dist 5
bundle (Apache-2.0) and redoc 2's standalone bundle (MIT): nothing is fetched from a CDN.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

DOCS_ASSETS_URL = "/docs-assets"
DOCS_ASSET_FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png")


def docs_assets_dir() -> Path:
    """The folder of the bundled Swagger UI and ReDoc files (in the fastapi-offline package)."""
    spec = importlib.util.find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        raise ModuleNotFoundError("fastapi-offline (the docs' offline assets) is not installed",
                                  name="fastapi_offline")
    folder = Path(spec.origin).parent / "static"
    missing = [name for name in DOCS_ASSET_FILES if not (folder / name).is_file()]
    if missing:
        raise FileNotFoundError(f"{folder} lacks {', '.join(missing)}")
    return folder


def install_docs(app: FastAPI, *, openapi_url: str) -> None:
    """Add /docs, /docs/oauth2-redirect, /redoc, /openapi.json and the assets they load (app made with
    docs_url=None, redoc_url=None)."""
    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=docs_assets_dir()), name="docs-assets")
    oauth2_redirect = "/docs/oauth2-redirect"

    def root(request: Request) -> str:
        return str(request.scope.get("root_path", "")).rstrip("/")

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        base = root(request)
        return get_swagger_ui_html(
            openapi_url=f"{base}{openapi_url}", title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{base}{oauth2_redirect}",
            swagger_js_url=f"{base}{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{base}{DOCS_ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{base}{DOCS_ASSETS_URL}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get(oauth2_redirect, include_in_schema=False)
    async def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        base = root(request)
        return get_redoc_html(
            openapi_url=f"{base}{openapi_url}", title=f"{app.title} - ReDoc",
            redoc_js_url=f"{base}{DOCS_ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{base}{DOCS_ASSETS_URL}/favicon.png", with_google_fonts=False,
        )

    if openapi_url != "/openapi.json":
        @app.get("/openapi.json", include_in_schema=False)
        async def openapi_document() -> JSONResponse:
            return JSONResponse(app.openapi())
