"""One error body for every failure: ``{"error": {"code", "message", "details"}}``.

Routes raise :class:`ApiError` (or let :class:`models.matching.matcher.UnknownEntity` through); the handlers installed
by :func:`install_error_handlers` turn those, FastAPI's validation errors and Starlette's HTTP errors into that body.
``details`` is a list: for 422 one entry per field problem (``loc``, ``msg``, ``type``), for plan refusals one
entry per reason code (``code``, ``message``).
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from models.matching.matcher import UnknownEntity
from recsys.core.store import StoreFault

log = logging.getLogger("recsys.serving")

_DEFAULT_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid_request",
    503: "not_ready",
}


class ErrorDetail(BaseModel):
    code: str = Field(description="Machine-readable code, e.g. `unknown_creator`, `invalid_request`, `forbidden`.")
    message: str = Field(description="What went wrong, in a sentence.")
    details: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Per-field problems (422: loc, msg, type) or refusal reasons (code, message).",
    )


class ErrorBody(BaseModel):
    """The body of every 4xx/5xx answer."""

    error: ErrorDetail

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"error": {"code": "unknown_creator", "message": "unknown creator 'c99999'", "details": []}},
                {
                    "error": {
                        "code": "invalid_request",
                        "message": "1 problem with the request: query.k: Input should be less than or equal to 200",
                        "details": [
                            {
                                "loc": ["query", "k"],
                                "msg": "Input should be less than or equal to 200",
                                "type": "less_than_equal",
                            }
                        ],
                    }
                },
            ]
        }
    }


class ApiError(Exception):
    """An error answer: HTTP status, code, message and optional details."""

    def __init__(self, status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []


def not_found(kind: str, entity_id: str) -> ApiError:
    """The one 404 for an unknown (or not visible) entity: same code and message shape either way."""
    return ApiError(404, f"unknown_{kind}", f"unknown {kind} {entity_id!r}")


def forbidden(message: str) -> ApiError:
    return ApiError(403, "forbidden", message)


def error_response(status: int, code: str, message: str, details: list[dict[str, Any]] | None = None) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details or []}}
    return JSONResponse(status_code=status, content=jsonable_encoder(body))


def _field_details(errors: list[Any]) -> list[dict[str, Any]]:
    out = []
    for err in errors:
        out.append(
            {
                "loc": [str(p) for p in err.get("loc", ())],
                "msg": str(err.get("msg", "")),
                "type": str(err.get("type", "")),
            }
        )
    return out


def _validation_message(details: list[dict[str, Any]]) -> str:
    shown = "; ".join(f"{'.'.join(d['loc'])}: {d['msg']}" for d in details[:3])
    more = f" (and {len(details) - 3} more)" if len(details) > 3 else ""
    noun = "problem" if len(details) == 1 else "problems"
    return f"{len(details)} {noun} with the request: {shown}{more}"


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers that give every error the same body."""

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(UnknownEntity)
    async def _unknown(_request: Request, exc: UnknownEntity) -> JSONResponse:
        return error_response(404, f"unknown_{exc.kind}", f"unknown {exc.kind} {exc.entity_id!r}")

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = _field_details(list(exc.errors()))
        return error_response(422, "invalid_request", _validation_message(details), details)

    @app.exception_handler(StoreFault)
    async def _store_fault(_request: Request, exc: StoreFault) -> JSONResponse:
        log.error("store fault: %s", exc)
        return error_response(503, "store_unavailable", f"{exc}; nothing this request wrote is kept")

    @app.exception_handler(OperationalError)
    async def _store_error(request: Request, exc: OperationalError) -> JSONResponse:
        service = getattr(request.app.state, "service", None)
        cause = await run_in_threadpool(service.store.fault) if service is not None else None
        log.error("store error: %s (%s)", cause or "the store did not answer", type(exc.orig).__name__)
        message = cause or "the store did not answer (it may be locked or unreachable); try again"
        return error_response(503, "store_unavailable", message)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400 and str(exc.detail).startswith("There was an error parsing the body"):
            message = "the body is not valid JSON (UTF-8)"
            details = [{"loc": ["body"], "msg": message, "type": "json_invalid"}]
            return error_response(422, "invalid_request", f"body: {message}", details)
        code = _DEFAULT_CODES.get(exc.status_code, "error")
        message = str(exc.detail) if exc.detail else code.replace("_", " ")
        if exc.status_code == 404 and message == "Not Found":
            message = "no such endpoint; see /docs for the API"
        response = error_response(exc.status_code, code, message)
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return error_response(500, "internal_error", "internal error; the service log has the details")


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries with the error body for ``statuses``."""
    text = {
        400: "Bad request (e.g. a cursor from an older list)",
        401: "Missing or invalid X-API-Key",
        403: "The key may not access this resource",
        404: "Unknown id",
        409: "Conflict",
        422: "Invalid parameters or body (field details)",
        503: "No model loaded yet, or the store is unavailable",
    }
    return {s: {"model": ErrorBody, "description": text.get(s, "Error")} for s in statuses}
