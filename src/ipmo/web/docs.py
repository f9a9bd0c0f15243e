"""The API documentation (/docs) from the Swagger UI vendored in static/swagger-ui, so it works
without internet (FastAPI's default loads it from a CDN and shows a blank page offline)."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse


def install(app: FastAPI) -> None:
    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{app.title} – API documentation",
            swagger_js_url="/static/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/assets/images/favicon.ico",
            # no badge from the public validator service (a third-party host)
            swagger_ui_parameters={"validatorUrl": None},
        )
