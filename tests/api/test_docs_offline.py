"""/docs and /redoc load every script and stylesheet from the API itself (no CDN); /openapi.json is served."""

from __future__ import annotations

import re

import pytest

from tests.api.support import API, ApiServer

ASSET = re.compile(r"""(?:src|href)=["']([^"']+)["']""")
EXPECTED_TYPES = {".js": "text/javascript", ".css": "text/css", ".png": "image/png"}


def _assets(html: str) -> list[str]:
    return [url for url in ASSET.findall(html) if url.rsplit(".", 1)[-1] in ("js", "css", "png")]


@pytest.mark.parametrize(("page", "needs"), [("/docs", {"swagger-ui-bundle.js", "swagger-ui.css"}),
                                             ("/redoc", {"redoc.standalone.js"})])
def test_docs_pages_load_their_files_from_the_api(pg_api: ApiServer, page: str, needs: set[str]) -> None:
    with pg_api.client() as client:
        html = client.get(page)
        assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
        assets = _assets(html.text)
        assert needs <= {url.rsplit("/", 1)[-1] for url in assets}
        assert "fonts.googleapis" not in html.text
        for url in assets:
            assert url.startswith("/"), f"{page} loads {url} from elsewhere"
            response = client.get(url)
            assert response.status_code == 200, url
            suffix = "." + url.rsplit(".", 1)[-1]
            assert response.headers["content-type"].startswith(EXPECTED_TYPES[suffix]), url
            assert len(response.content) > 1000, url
        spec_url = re.search(r"""(?:url|spec-url)\s*[:=]\s*['"]([^'"]+openapi\.json)""", html.text)
        assert spec_url and spec_url.group(1) == f"{API}/openapi.json"


def test_openapi_document_at_the_root_and_under_the_prefix(pg_api: ApiServer) -> None:
    with pg_api.client() as client:
        root = client.get("/openapi.json")
        prefixed = client.get(f"{API}/openapi.json")
    assert root.status_code == prefixed.status_code == 200
    assert root.json() == prefixed.json()
    assert "/api/v1/videos/generate" in root.json()["paths"]
    assert "/docs" not in root.json()["paths"] and "/openapi.json" not in root.json()["paths"]
