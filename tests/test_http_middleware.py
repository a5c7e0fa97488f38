"""The request middleware both services use: ids, the log line and the metrics, on a small app."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from prometheus_client import REGISTRY

from shared.http_middleware import RequestObservabilityMiddleware
from shared.logging_setup import REQUEST_ID


def _app() -> FastAPI:
    app = FastAPI()
    prefixed = APIRouter(prefix="/v1/things")

    @prefixed.get("/{thing}/parts/{part}")
    async def part(thing: str, part: str) -> dict[str, str]:
        return {"thing": thing, "part": part}

    app.include_router(prefixed, prefix="/api")

    @app.api_route("/items/{item_id}", methods=["GET", "PURGE"])
    async def item(item_id: str) -> dict[str, str]:
        return {"item": item_id, "request_id": REQUEST_ID.get()}

    @app.get("/shops/{shop}/items/{item_id}")
    async def shop_item(shop: str, item_id: str) -> dict[str, str]:
        return {"shop": shop, "item": item_id}

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    app.add_middleware(RequestObservabilityMiddleware, service="mwtest")
    return app


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=_app(), raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def _count(method: str, route: str, status: str) -> float:
    value = REGISTRY.get_sample_value(
        "hirecj_http_requests_total",
        {"service": "mwtest", "method": method, "route": route, "status": status},
    )
    return value or 0.0


async def test_generated_ids_are_unique_and_reach_the_handler(client: httpx.AsyncClient) -> None:
    responses = [await client.get(f"/items/{n}") for n in range(50)]
    ids = [response.headers["x-request-id"] for response in responses]
    assert len(set(ids)) == 50
    assert all(re.fullmatch(r"[0-9a-f]{28}", value) for value in ids)
    assert [response.json()["request_id"] for response in responses] == ids


async def test_a_well_formed_incoming_id_is_kept_and_a_malformed_one_replaced(
    client: httpx.AsyncClient,
) -> None:
    kept = await client.get("/items/1", headers={"X-Request-ID": "edge-7f.3_a"})
    assert kept.headers["x-request-id"] == "edge-7f.3_a"
    for bad in ("with space", "x" * 129, "semi;colon"):
        replaced = await client.get("/items/1", headers={"X-Request-ID": bad})
        assert replaced.headers["x-request-id"] != bad
        assert re.fullmatch(r"[0-9a-f]{28}", replaced.headers["x-request-id"])


async def test_requests_are_counted_by_route_template_and_known_method(
    client: httpx.AsyncClient,
) -> None:
    before_get = _count("GET", "/items/{item_id}", "200")
    before_other = _count("OTHER", "/items/{item_id}", "200")
    before_missing = _count("GET", "unmatched", "404")
    await client.get("/items/abc")
    await client.get("/items/def")
    # An arbitrary method must not mint a new label value per spelling.
    await client.request("PURGE", "/items/abc")
    await client.get("/nowhere")
    assert _count("GET", "/items/{item_id}", "200") == before_get + 2
    assert _count("OTHER", "/items/{item_id}", "200") == before_other + 1
    assert _count("GET", "unmatched", "404") == before_missing + 1
    assert _count("PURGE", "/items/{item_id}", "200") == 0


async def test_a_value_that_also_appears_earlier_in_the_path_keeps_the_template(
    client: httpx.AsyncClient,
) -> None:
    # Rebuilding the template by replacing values in the path would label this
    # "/{item_id}/items/items/..."-style; the matched route's own template is exact.
    template = "/shops/{shop}/items/{item_id}"
    before = _count("GET", template, "200")
    await client.get("/shops/items/items/shops")
    assert _count("GET", template, "200") == before + 1


async def test_a_router_included_with_a_prefix_is_labelled_with_its_whole_template(
    client: httpx.AsyncClient,
) -> None:
    template = "/api/v1/things/{thing}/parts/{part}"
    before = _count("GET", template, "200")
    await client.get("/api/v1/things/api/parts/v1")
    assert _count("GET", template, "200") == before + 1


async def test_an_unhandled_error_is_counted_and_logged_as_500(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    before = _count("GET", "/boom", "500")
    with caplog.at_level(logging.INFO, logger="http"):
        response = await client.get("/boom?secret=hunter2")
    assert response.status_code == 500
    assert _count("GET", "/boom", "500") == before + 1
    lines = [record.getMessage() for record in caplog.records if record.name == "http"]
    assert len(lines) == 1
    assert lines[0].startswith("GET /boom 500 ")
    assert "hunter2" not in caplog.text
