"""The HTTP API of a finished run: FastAPI on uvicorn.

=================  ===================================================================
endpoint           answer
=================  ===================================================================
``POST /predict``  predictions (and class probabilities) for rows given as ``records``
                   or ``columns`` (see :mod:`mlresearcher.serve.request`)
``GET /health``    ``{"status": "ok"}`` while the process is alive
``GET /ready``     200 once the model is loaded, verified and warmed up
``GET /metadata``  task, target, classes, feature schema, metrics, run id, versions
``GET /metrics``   Prometheus text: requests, latencies, errors, rows predicted
``GET /drift``     the recent served rows compared with the training reference
=================  ===================================================================

Status codes: 400 malformed JSON; 401 a missing or wrong API key (when one is set;
``/health`` and ``/ready`` stay open for probes); 413 a body or batch over the limits;
422 a request that does not fit the schema (the message names the column). The
request schema in ``/openapi.json`` is generated from the training schema.

Parsing and predicting (and the drift report) run in worker threads, at most one per
core this process may use, so a large batch never holds up ``/health`` or the other
requests on the event loop; the boosters and numpy release the GIL while they work.
Only a body of a few rows (:data:`INLINE_BYTES`) is predicted on the loop itself.
"""

from __future__ import annotations

import hmac
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import anyio.to_thread
import numpy as np
from fastapi import FastAPI, Request  # FastAPI resolves the handlers' annotations here
from fastapi.responses import JSONResponse, Response
from pydantic_core import to_json

from mlresearcher import __version__
from mlresearcher.serve.fastpath import FastPredictor
from mlresearcher.serve.recent import RecentRows
from mlresearcher.serve.reference import REFERENCE_FILE
from mlresearcher.serve.request import RequestError, RequestModel
from mlresearcher.store.integrity import load_verified, verify_file

#: the environment variable that carries the settings to each worker process
SETTINGS_ENV = "MLRESEARCHER_SERVE_SETTINGS"
OPEN_PATHS = frozenset({"/health", "/ready"})
#: bodies up to this size (a few rows) are predicted on the event loop: handing one to a
#: worker thread costs about 0.15 ms, a quarter of a one-row prediction, and the loop
#: waits for such a request no more than a couple of milliseconds
INLINE_BYTES = 4096
KNOWN_PATHS = frozenset(
    {"/predict", "/health", "/ready", "/metadata", "/metrics", "/drift", "/openapi.json", "/docs"}
)


@dataclass
class ServeSettings:
    run_dir: str
    api_key: str | None = None  # the key itself (read from the --api-key-env variable)
    max_rows: int = 50_000  # rows per request
    max_body_bytes: int = 64 * 1024 * 1024
    recent_rows: int = 5_000  # rows kept for /drift


class ModelService:
    """The verified model, its fast path, request schema, drift reference and recent rows."""

    def __init__(self, settings: ServeSettings):
        self.settings = settings
        self.run_dir = Path(settings.run_dir)
        self.predictor, self.manifest = load_verified(self.run_dir)
        self.fast = FastPredictor(self.predictor)
        self.requests = RequestModel(self.predictor.schema, max_rows=settings.max_rows)
        self.recent = RecentRows(settings.recent_rows)
        self.reference = None
        if REFERENCE_FILE in (self.manifest.get("files") or {}):
            import pandas as pd

            self.reference = pd.read_parquet(
                verify_file(self.run_dir, REFERENCE_FILE, self.manifest)
            )
        self.classes = (
            [c.item() if isinstance(c, np.generic) else c for c in self.predictor.classes]
            if self.predictor.classes is not None
            else None
        )  # plain Python values, so JSON keeps numbers as numbers
        self._class_array = np.asarray(self.classes, dtype=object) if self.classes else None
        self.ready = False

    def warm_up(self) -> None:
        """One prediction so that lazy initialisation is not paid by the first client, then
        the loaded model is frozen out of the garbage collector's view.

        A full collection walks every tracked object, and a loaded model (fitted pipelines,
        libraries' module state) is millions of them: tens of milliseconds, paid by
        whichever request triggers it. Frozen objects are never walked again; the objects
        requests create are collected as before.
        """
        import gc

        row = {c: [None] for c in self.predictor.schema.input_columns}
        self.fast.predict_scores(row, 1)
        gc.collect()
        gc.freeze()
        self.ready = True

    def predict(self, body: bytes) -> dict[str, Any]:
        req = self.requests.parse(body)
        scores = self.fast.predict_scores(req.columns, req.n_rows)
        self.recent.add(req.columns, scores, req.n_rows)
        out: dict[str, Any] = {"n_rows": req.n_rows}
        if self.predictor.task == "regression":
            out["predictions"] = scores.tolist()
        else:
            out["predictions"] = self._class_array[np.argmax(scores, axis=1)].tolist()
            out["classes"] = self.classes
            out["probabilities"] = scores.tolist()
        out["ignored_columns"] = req.ignored
        return out

    def metadata(self) -> dict[str, Any]:
        m = self.manifest
        p = self.predictor
        return {
            "run_id": m.get("run_id"),
            "task": p.task,
            "target": p.target,
            "classes": self.classes,
            "metric": {
                "name": m.get("metric", p.metric),
                "greater_is_better": m.get("greater_is_better"),
                "cross_validated_score": m.get("best_score"),
                "protocol": m.get("protocol"),
            },
            "final_model": p.describe(),
            "features": [
                {
                    "name": c.name,
                    "role": c.role,
                    "training_dtype": c.dtype,
                    "json_type": "number" if c.role == "numeric" else "string",
                    "n_unique": c.n_unique,
                    "missing_fraction": c.missing_fraction,
                }
                for c in p.schema.columns
                if c.name in set(p.schema.input_columns)
            ],
            "dropped_columns": [
                {"name": c.name, "role": c.role}
                for c in p.schema.columns
                if c.name not in set(p.schema.input_columns)
            ],
            "versions": {
                "model_saved_with": p.version,
                "serving_with": __version__,
                "training_environment": m.get("environment"),
            },
            "created_at": m.get("created_at"),
            "data_hash": m.get("data_hash"),
            "fast_path_share": self.fast.compiled_fraction,
            "limits": {
                "max_rows": self.settings.max_rows,
                "max_body_bytes": self.settings.max_body_bytes,
            },
        }

    def drift(self) -> dict[str, Any]:
        from mlresearcher.serve.drift import MIN_ROWS, drift_report

        if self.reference is None:
            raise RequestError(
                409, "this run directory has no drift reference (reference.parquet); re-run it"
            )
        # the count from the snapshot itself: other threads add rows meanwhile
        frame, scores = self.recent.snapshot()
        n = len(frame)
        if n < MIN_ROWS:
            raise RequestError(
                409, f"only {n} rows served so far; /drift needs at least {MIN_ROWS}"
            )
        report = drift_report(
            self.reference,
            frame,
            self.predictor.schema,
            task=self.predictor.task,
            classes=self.classes,
            current_scores=scores,
        )
        report["window"] = f"the last {n:,} rows served by this worker (pid {os.getpid()})"
        return report


class Metrics:
    """Prometheus counters and histograms in a registry of this app's own."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter(
            "mlresearcher_requests",
            "HTTP requests answered, by endpoint and status code",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.errors = Counter(
            "mlresearcher_request_errors",
            "HTTP requests answered with a 4xx or 5xx status, by endpoint and status",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "mlresearcher_request_duration_seconds",
            "time from request start to the end of the response, seconds",
            ["endpoint"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.rows = Counter("mlresearcher_predicted_rows", "rows predicted", registry=self.registry)
        self.info = Gauge(
            "mlresearcher_model_info",
            "the model served (value 1)",
            ["run_id", "task", "version"],
            registry=self.registry,
        )

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        code = str(status)
        self.requests.labels(endpoint, code).inc()
        if status >= 400:
            self.errors.labels(endpoint, code).inc()
        self.latency.labels(endpoint).observe(seconds)

    def text(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)


def _json_response(status: int, payload: dict[str, Any]) -> tuple[int, bytes]:
    return status, json.dumps(payload, allow_nan=False, default=str).encode()


class Guard:
    """ASGI middleware: API key check, body-size pre-check, and request metrics.

    A plain ASGI wrapper rather than Starlette's ``BaseHTTPMiddleware``, whose per-request
    task and stream plumbing costs more than a single-row prediction.
    """

    def __init__(self, app: Any, *, api_key: str | None, max_body_bytes: int, metrics: Metrics):
        self.app = app
        self.key = api_key.encode() if api_key else None
        self.max_body = max_body_bytes
        self.metrics = metrics

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path = scope["path"]
        endpoint = path if path in KNOWN_PATHS else "other"
        status = {"code": 500}

        async def send_wrapper(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            refusal = self._refusal(scope, path)
            if refusal is not None:
                code, body = refusal
                await _send_json(send_wrapper, code, body)
            else:
                await self.app(scope, receive, send_wrapper)
        finally:
            self.metrics.observe(endpoint, status["code"], time.perf_counter() - start)

    def _refusal(self, scope: dict, path: str) -> tuple[int, bytes] | None:
        headers = dict(scope.get("headers") or [])
        if self.key is not None and path not in OPEN_PATHS:
            given = headers.get(b"x-api-key")
            auth = headers.get(b"authorization", b"")
            if given is None and auth[:7].lower() == b"bearer ":
                given = auth[7:].strip()
            if given is None or not hmac.compare_digest(given, self.key):
                return _json_response(
                    401, {"detail": "missing or wrong API key; send it in the X-API-Key header"}
                )
        length = headers.get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_body
            except ValueError:
                return _json_response(400, {"detail": "invalid Content-Length header"})
            if too_big:
                return _json_response(
                    413,
                    {
                        "detail": f"request body of {int(length):,} bytes is over the limit of "
                        f"{self.max_body:,}; split it into smaller batches"
                    },
                )
        return None


async def _send_json(send: Any, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _read_body(request: Any, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes ``limit`` bytes."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestError(
                413, f"request body is over the limit of {limit:,} bytes; split it into batches"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _error_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {"detail": {"type": "string"}, "errors": {"type": "array"}},
        "required": ["detail"],
    }


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity where the OS has one (a
    container or ``taskset`` may allow fewer than the machine has)."""
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return os.cpu_count() or 1


def create_app(settings: ServeSettings) -> Any:
    """The FastAPI application serving ``settings.run_dir``'s verified model."""
    service = ModelService(settings)
    # the worker threads that parse and predict: one per core, as more would only queue
    # on the GIL and the cores (anyio keeps them; they end with the event loop)
    workers = anyio.CapacityLimiter(usable_cores())
    metrics = Metrics()
    run_id = str(service.manifest.get("run_id"))
    metrics.info.labels(run_id, service.predictor.task, __version__).set(1)
    app = FastAPI(
        title=f"mlresearcher model {run_id}",
        version=__version__,
        description=(
            f"Predicts {service.predictor.target!r} ({service.predictor.task}) with the model of "
            f"run {run_id}: {service.predictor.describe()}."
        ),
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.service = service
    request_schema = service.requests.json_schema()
    defs = request_schema.pop("$defs", {})

    @app.exception_handler(RequestError)
    async def _request_error(request: Request, exc: RequestError) -> JSONResponse:
        body: dict[str, Any] = {"detail": exc.detail}
        if exc.errors:
            body["errors"] = exc.errors
        return JSONResponse(body, status_code=exc.status)

    predict_response: dict[str, Any] = {
        "type": "object",
        "properties": {
            "n_rows": {"type": "integer"},
            "predictions": {"type": "array", "items": {}},
            "classes": {"type": "array", "items": {}},
            "probabilities": {
                "type": "array",
                "items": {"type": "array", "items": {"type": "number"}},
            },
            "ignored_columns": {"type": "array", "items": {"type": "string"}},
        },
        "required": ["n_rows", "predictions", "ignored_columns"],
    }
    errors = {
        code: {"description": text, "content": {"application/json": {"schema": _error_schema()}}}
        for code, text in [
            ("400", "malformed JSON"),
            ("401", "missing or wrong API key"),
            ("413", "body or batch over the limits"),
            ("422", "rows that do not fit the training schema"),
        ]
    }

    @app.post(
        "/predict",
        summary="Predict for rows given as records or columns",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": request_schema}},
            },
            "responses": {
                "200": {
                    "description": "one prediction per row (and class probabilities)",
                    "content": {"application/json": {"schema": predict_response}},
                },
                **errors,
            },
        },
    )
    async def predict(request: Request) -> Response:
        body = await _read_body(request, settings.max_body_bytes)
        if len(body) <= INLINE_BYTES:
            out = service.predict(body)
        else:
            out = await anyio.to_thread.run_sync(service.predict, body, limiter=workers)
        metrics.rows.inc(out["n_rows"])
        # pydantic-core's encoder (Rust): a 10,000-row answer in 2 ms instead of 12
        return Response(to_json(out, fallback=str), media_type="application/json")

    @app.get("/health", summary="Liveness")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/ready", summary="Readiness: model loaded, verified and warmed up")
    async def ready() -> JSONResponse:
        if not service.ready:
            return JSONResponse({"ready": False}, status_code=503)
        return JSONResponse({"ready": True, "run_id": run_id})

    @app.get("/metadata", summary="Task, target, feature schema, metrics, run id, versions")
    async def metadata() -> Response:
        return Response(json.dumps(service.metadata(), default=str), media_type="application/json")

    @app.get("/metrics", summary="Prometheus metrics")
    async def prometheus() -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST

        return Response(metrics.text(), media_type=CONTENT_TYPE_LATEST)

    @app.get(
        "/drift",
        summary="Recent served rows compared with the training reference",
        responses={409: {"description": "too few rows served yet, or no reference"}},
    )
    async def drift() -> Response:
        report = await anyio.to_thread.run_sync(service.drift, limiter=workers)
        return Response(json.dumps(report, default=str), media_type="application/json")

    base_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = base_openapi()
            schema.setdefault("components", {}).setdefault("schemas", {}).update(defs)
            if settings.api_key:
                schema["components"]["securitySchemes"] = {
                    "ApiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"}
                }
                schema["security"] = [{"ApiKey": []}]
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    app.add_middleware(
        Guard, api_key=settings.api_key, max_body_bytes=settings.max_body_bytes, metrics=metrics
    )
    service.warm_up()
    return app


def app_from_env() -> Any:
    """The application for a uvicorn worker process (settings in :data:`SETTINGS_ENV`)."""
    raw = os.environ.get(SETTINGS_ENV)
    if not raw:
        raise RuntimeError(f"{SETTINGS_ENV} is not set; start the server with `mlresearcher serve`")
    return create_app(ServeSettings(**json.loads(raw)))


def settings_env(settings: ServeSettings) -> str:
    return json.dumps(asdict(settings))


__all__ = ["ModelService", "ServeSettings", "app_from_env", "create_app", "usable_cores"]
