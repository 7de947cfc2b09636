"""Prometheus metrics: request counts and latency per route template, model version, index and table sizes.

Each app gets its own :class:`ServiceMetrics` (its own registry, so several apps can live in one test process).
With ``--workers N`` the CLI sets ``PROMETHEUS_MULTIPROC_DIR`` before the workers start; prometheus-client then
keeps every worker's values in files there and ``/metrics`` sums them (counters, histograms) or takes the
maximum (gauges) over the workers.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from serving.state import MatcherState

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def multiprocess_mode() -> bool:
    return bool(os.environ.get(MULTIPROC_ENV))


class ServiceMetrics:
    """The service's metric families, registered on a private registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "recsys_http_requests",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "recsys_http_request_duration_seconds",
            "Request latency by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.model_info = Gauge(
            "recsys_model_info",
            "1 for the bundle a worker serves (labels: run id, data hash, creation time).",
            ["run_id", "data_hash", "created_at"],
            registry=r,
            multiprocess_mode="max",
        )
        self.index_rows = Gauge(
            "recsys_index_rows",
            "Rows in each FAISS retrieval index.",
            ["index"],
            registry=r,
            multiprocess_mode="max",
        )
        self.feature_table = Gauge(
            "recsys_feature_table_size",
            "Feature table sizes (rows and columns).",
            ["table", "dimension"],
            registry=r,
            multiprocess_mode="max",
        )
        self.plans = Gauge(
            "recsys_plans", "Plans in the plan book the matcher uses.", registry=r, multiprocess_mode="max"
        )
        self.store_revision = Gauge(
            "recsys_store_revision",
            "Store revision the matcher has caught up with.",
            registry=r,
            multiprocess_mode="max",
        )
        self.reloads = Counter(
            "recsys_bundle_reloads",
            "Bundle reloads by outcome (ok, refused, unchanged: the bundle named was already served).",
            ["outcome"],
            registry=r,
        )
        self.stop_loss_alerts = Counter(
            "recsys_stop_loss_alerts",
            "Stop-loss alerts raised, by suggested action (each collaboration and action once per worker).",
            ["action"],
            registry=r,
        )
        self.experiment_requests = Counter(
            "recsys_experiment_requests",
            "Recommendation lists served inside an A/B experiment, by experiment and arm.",
            ["experiment", "arm"],
            registry=r,
        )
        self.experiment_exposures = Counter(
            "recsys_experiment_exposures",
            "Items shown inside an A/B experiment (exposures), by experiment and arm.",
            ["experiment", "arm"],
            registry=r,
        )
        self._alerted: set[tuple[str, ...]] = set()
        self._alert_lock = threading.Lock()
        self._info_labels: tuple[str, str, str] | None = None

    def count_alerts(self, alerts: Iterable[tuple[tuple[str, ...], str]]) -> None:
        """Count stop-loss alerts ``(collaboration key, action)`` not counted before by this worker, so reading the
        alerts again does not raise them again."""
        with self._alert_lock:
            for key, action in alerts:
                if (*key, action) not in self._alerted:
                    if len(self._alerted) >= 100_000:  # bounded memory: a very old alert may count again
                        self._alerted.clear()
                    self._alerted.add((*key, action))
                    self.stop_loss_alerts.labels(action).inc()

    def observe_state(self, state: MatcherState) -> None:
        """Set the model and size gauges for the state a worker now serves."""
        manifest = state.bundle.manifest
        labels = (state.run_id, str(manifest.get("data_hash", ""))[:12], str(manifest.get("created_at", "")))
        if self._info_labels is not None and self._info_labels != labels:
            self.model_info.labels(*self._info_labels).set(0)
        self.model_info.labels(*labels).set(1)
        self._info_labels = labels
        engine = state.bundle.engine
        self.index_rows.labels("products").set(engine.retriever.product_index.n_rows)
        self.index_rows.labels("creators").set(engine.retriever.creator_index.n_rows)
        tables = engine.tables
        for name, matrix in (("creator", tables.creator), ("product", tables.product)):
            self.feature_table.labels(name, "rows").set(matrix.shape[0])
            self.feature_table.labels(name, "columns").set(matrix.shape[1])
        book = state.matcher.planbook
        self.plans.set(book.n_plans if book is not None else 0)
        self.store_revision.set(state.revision)

    def render(self) -> tuple[bytes, str]:
        """The exposition text (all workers' values in multiprocess mode) and its content type."""
        if multiprocess_mode():
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class MetricsMiddleware:
    """Pure ASGI middleware: counts and times every HTTP request under its route template (e.g.
    ``/v1/creators/{creator_id}/products``), so ids never become label values. Unmatched paths count as
    ``unmatched``."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}

        async def _send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, _send)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path_format", None) or getattr(route, "path", None) or "unmatched"
            method = str(scope.get("method", "GET"))
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)
            self.metrics.requests.labels(method, template, str(status["code"])).inc()
