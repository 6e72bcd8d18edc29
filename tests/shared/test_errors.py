"""Every failure, expected or not, answers in the one error envelope."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from pydantic import BaseModel, ConfigDict, Field
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import IntegrityError, OperationalError

from shared.errors import Conflict, NotFound, ServiceError, Unprocessable
from shared.runtime import Runtime
from shared.security.passwords import HashingPool
from shared.service_app import create_service_app


class AttemptsExhausted(ServiceError):
    status_code = 429
    code = "too_many_attempts"
    message = "Too many attempts."


class ThingCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=10)
    size: int = Field(ge=1)


def _routes() -> APIRouter:
    router = APIRouter(prefix="/things")

    @router.get("/missing")
    def missing() -> None:
        raise NotFound("No such thing.")

    @router.get("/conflict")
    def conflict() -> None:
        raise Conflict(field="name")

    @router.get("/throttled")
    def throttled() -> None:
        raise AttemptsExhausted(attempts_left=0, headers={"Retry-After": "30"})

    @router.post("")
    def create(body: ThingCreate) -> dict[str, str]:
        return {"name": body.name}

    @router.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    @router.get("/db-down")
    def db_down() -> None:
        raise OperationalError("SELECT 1", {}, Exception("Can't connect to MySQL server"))

    @router.get("/db-integrity")
    def db_integrity() -> None:
        raise IntegrityError("INSERT", {}, Exception("Duplicate entry"))

    @router.get("/redis-down")
    def redis_down() -> None:
        raise RedisConnectionError("Connection refused")

    @router.get("/hashing-down")
    def hashing_down() -> None:
        # Each hashing process dies at once: the pool is replaced once, then it gives up.
        HashingPool(processes=1).run(os._exit, 1)

    return router


@pytest.fixture(scope="module")
def client(runtime: Runtime) -> Iterator[TestClient]:
    app = create_service_app(
        name="errors-test",
        title="t",
        description="d",
        ops_prefix="/errors-test",
        routers=[_routes()],
        runtime=runtime,
    )
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert isinstance(body["error"]["code"], str)
    assert isinstance(body["error"]["message"], str)
    return body["error"]


def test_service_error_uses_its_status_code_and_message(client: TestClient) -> None:
    response = client.get("/things/missing")
    assert response.status_code == 404
    assert _error(response) == {"code": "not_found", "message": "No such thing."}


def test_service_error_extra_fields_are_in_the_envelope(client: TestClient) -> None:
    response = client.get("/things/conflict")
    assert response.status_code == 409
    assert _error(response) == {
        "code": "conflict",
        "message": "The request conflicts with existing data.",
        "field": "name",
    }


def test_service_error_headers_are_sent(client: TestClient) -> None:
    response = client.get("/things/throttled")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "30"
    assert _error(response)["attempts_left"] == 0


def test_subclass_overrides_are_per_instance() -> None:
    error = Unprocessable("Bad size.", code="bad_size")
    assert (error.status_code, error.code, error.message) == (422, "bad_size", "Bad size.")
    assert Unprocessable().code == "validation_error"


def test_valid_body_passes(client: TestClient) -> None:
    response = client.post("/things", json={"name": "box", "size": 2})
    assert response.status_code == 200
    assert response.json() == {"name": "box"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "box"}, "size"),
        ({"name": "x" * 11, "size": 1}, "name"),
        ({"name": "box", "size": 0}, "size"),
        ({"name": "box", "size": 1, "colour": "red"}, "colour"),
    ],
)
def test_validation_failure_is_a_422_envelope(
    client: TestClient, body: dict[str, object], field: str
) -> None:
    response = client.post("/things", json=body)
    assert response.status_code == 422
    error = _error(response)
    assert error["code"] == "validation_error"
    assert str(error["message"]).startswith(f"{field}: ")
    assert [item["field"] for item in error["fields"]] == [field]


def test_malformed_json_is_a_422_envelope(client: TestClient) -> None:
    response = client.post(
        "/things", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    assert _error(response)["code"] == "validation_error"


def test_unknown_route_is_a_404_envelope(client: TestClient) -> None:
    response = client.get("/nowhere")
    assert response.status_code == 404
    assert _error(response) == {"code": "not_found", "message": "Not Found"}


def test_wrong_method_is_a_405_envelope(client: TestClient) -> None:
    response = client.delete("/things/missing")
    assert response.status_code == 405
    assert _error(response)["code"] == "method_not_allowed"
    assert response.headers["Allow"] == "GET"


@pytest.mark.parametrize("path", ["/things/boom", "/things/db-integrity"])
def test_unexpected_error_is_a_500_without_internals(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 500
    assert _error(response) == {
        "code": "internal_error",
        "message": "An unexpected error occurred.",
    }
    for leak in ("Traceback", "hunter2", "RuntimeError", "Duplicate", "INSERT"):
        assert leak not in response.text


@pytest.mark.parametrize("path", ["/things/db-down", "/things/redis-down", "/things/hashing-down"])
def test_dependency_outage_is_a_503_with_retry_after(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "2"
    assert _error(response)["code"] == "unavailable"
    assert "MySQL" not in response.text
