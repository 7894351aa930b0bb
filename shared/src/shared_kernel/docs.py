"""``/docs``: Swagger UI served with its own assets, so that it works without internet.

FastAPI's default page loads Swagger UI's script and style sheet from a CDN: on a machine
without internet (or behind a proxy that blocks it) ``/docs`` is a blank page. The assets
shipped by the ``fastapi-offline`` package are served from ``/docs/assets`` instead.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/docs"
ASSETS_PATH = f"{DOCS_PATH}/assets"
# Swagger UI's bundle, style sheet and favicon, as the package ships them.
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"


def install_docs(
    app: FastAPI,
    *,
    title: str,
    openapi_url: str = "/openapi.json",
    parameters: dict[str, Any] | None = None,
) -> None:
    """Serve Swagger UI at ``/docs`` for ``openapi_url``, every asset from this server.

    Create the app with ``docs_url=None, redoc_url=None`` so FastAPI's CDN page is not added."""
    app.mount(ASSETS_PATH, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
            swagger_ui_parameters=parameters,
        )
