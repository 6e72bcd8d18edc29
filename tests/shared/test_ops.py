"""Liveness, readiness and metrics under each service's prefix."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient

from shared.runtime import Runtime
from shared.service_app import create_service_app


def _app(runtime: Runtime, name: str) -> FastAPI:
    router = APIRouter()

    @router.get("/widgets/{widget_id}")
    def get_widget(widget_id: int) -> dict[str, int]:
        return {"id": widget_id}

    return create_service_app(
        name=name,
        title=name,
        description="ops test",
        ops_prefix=f"/{name}",
        routers=[router],
        runtime=runtime,
    )


@pytest.fixture(scope="module")
def client(runtime: Runtime) -> Iterator[TestClient]:
    with TestClient(_app(runtime, "opstest")) as test_client:
        yield test_client


@pytest.fixture
def redis_down_runtime(runtime: Runtime) -> Iterator[Runtime]:
    """The same deployment, but pointed at a Redis port nothing listens on."""
    broken = Runtime(runtime.settings.model_copy(update={"redis_url": "redis://127.0.0.1:1/0"}))
    yield broken
    broken.close()


def test_healthz_is_ok(client: TestClient) -> None:
    response = client.get("/opstest/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_ops_endpoints_live_under_the_service_prefix(client: TestClient) -> None:
    assert client.get("/healthz").status_code == 404
    assert client.get("/opstest/openapi.json").status_code == 200


def test_readyz_checks_database_and_redis(client: TestClient) -> None:
    response = client.get("/opstest/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": "ok", "redis": "ok"},
    }


def test_readyz_is_503_when_redis_is_unreachable(redis_down_runtime: Runtime) -> None:
    # No lifespan: the runtime's listener thread would only retry the dead Redis.
    client = TestClient(_app(redis_down_runtime, "opsdown"))
    response = client.get("/opsdown/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["redis"].startswith("unavailable: ")
    # Liveness does not depend on Redis: restarting the process would not help.
    assert client.get("/opsdown/healthz").status_code == 200


def _metric_lines(client: TestClient, name: str) -> list[str]:
    response = client.get("/opstest/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return [line for line in response.text.splitlines() if line.startswith(name + "{")]


def _count(lines: list[str], **labels: str) -> float:
    wanted = [f'{k}="{v}"' for k, v in labels.items()]
    matching = [line for line in lines if all(w in line for w in wanted)]
    return sum(float(line.rsplit(" ", 1)[1]) for line in matching)


def test_metrics_count_requests_by_route_template(client: TestClient) -> None:
    before = _count(
        _metric_lines(client, "identity_http_requests_total"),
        service="opstest",
        route="/widgets/{widget_id}",
        status="200",
    )
    for widget_id in (1, 2, 3):
        assert client.get(f"/widgets/{widget_id}").status_code == 200
    assert client.get("/widgets/not-a-number").status_code == 422

    lines = _metric_lines(client, "identity_http_requests_total")
    route = "/widgets/{widget_id}"
    assert _count(lines, service="opstest", route=route, status="200") == before + 3
    assert _count(lines, service="opstest", route=route, status="422") >= 1
    # Raw paths never become label values: that would be unbounded cardinality.
    assert not any("/widgets/1" in line for line in lines)


def test_metrics_label_unknown_paths_as_unmatched(client: TestClient) -> None:
    assert client.get("/no/such/path/12345").status_code == 404
    lines = _metric_lines(client, "identity_http_requests_total")
    assert _count(lines, service="opstest", route="unmatched", status="404") >= 1
    assert not any("12345" in line for line in lines)


def test_metrics_record_latency(client: TestClient) -> None:
    client.get("/widgets/9")
    lines = _metric_lines(client, "identity_http_request_duration_seconds_count")
    assert _count(lines, service="opstest", route="/widgets/{widget_id}") >= 1
