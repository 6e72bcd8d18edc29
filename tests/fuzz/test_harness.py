"""The fuzz harness itself: it must notice each kind of failure it is there to catch,
or a green run would prove nothing."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from shared.errors import error_responses, install_error_handlers
from tests.fuzz.support import fuzz_service


class Item(BaseModel):
    name: str


def _app() -> FastAPI:
    app = FastAPI(openapi_url="/openapi.json")
    install_error_handlers(app)

    @app.get("/crash", responses=error_responses(422))
    def crash(n: int) -> dict[str, int]:
        return {"n": 1 // 0}

    @app.get("/unavailable", responses=error_responses(503))
    def unavailable() -> JSONResponse:
        return JSONResponse({"error": {"code": "down", "message": "Down."}}, status_code=503)

    @app.get("/undeclared", response_model=Item)
    def undeclared() -> JSONResponse:
        return JSONResponse({"error": {"code": "gone", "message": "Gone."}}, status_code=410)

    @app.get("/bare-error", responses={404: {"description": "missing"}})
    def bare_error() -> JSONResponse:
        return JSONResponse({"detail": "missing"}, status_code=404)

    @app.get("/wrong-shape", response_model=Item)
    def wrong_shape() -> JSONResponse:
        return JSONResponse({"title": 1})

    @app.get("/fine", response_model=Item)
    def fine() -> Item:
        return Item(name="ok")

    return app


def test_each_kind_of_failure_is_reported() -> None:
    failures = "\n".join(fuzz_service(_app(), "/openapi.json", dict))

    # Starlette re-raises an unhandled error after sending the 500, so it arrives as itself.
    assert "GET /crash [positive]: ZeroDivisionError" in failures
    # Even a declared, well-formed 5xx fails: with its dependencies up a service never sends one.
    assert "GET /unavailable [positive]" in failures
    assert "Server error" in failures
    assert "GET /undeclared [positive]" in failures
    assert "Undocumented status code" in failures
    assert "GET /bare-error [positive]" in failures
    assert "not the error envelope" in failures
    assert "GET /wrong-shape [positive]" in failures
    assert "Response violates schema" in failures
    assert "GET /fine" not in failures
