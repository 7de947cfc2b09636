"""``recsys serve --workers N`` (N > 1): load once, then fork the workers.

Each uvicorn worker used to open the store and load the bundle on its own: at 1M products ~0.7 GiB of private heap
per worker (the parsed plans, the catalogue, the market state, the imported libraries), and two workers on two cores
paid the whole start at once. Here the master process loads the service once — the store opened, the current bundle
and the market assembled, compliance's dictionary read — and gunicorn's pre-fork arbiter (``preload_app``) forks the
workers from it, each running uvicorn (``uvicorn-worker``'s class, with httptools and uvloop as before). A forked
worker shares the loaded pages copy-on-write with the master and its siblings; numpy buffers are never written after
the load, and the state's objects are frozen out of the cyclic collector (``gc.freeze`` at the swap), so most pages
stay shared. Gunicorn also restarts a worker that dies, forked from the same loaded master.

What a fork must not carry (both are done in :func:`prepare_fork`):

- a thread holding a lock: the background work the load started (the pair keys' by-product view, the compliance
  warm-up) is finished first, and the fork waits for every other thread (bounded; stragglers are logged);
- a database connection: the store's pool is emptied in the master (SQLAlchemy's advice for ``fork``); every worker
  opens its own connections.

A worker catches up before it serves (:meth:`serving.runtime.Service.after_fork`): a reload made by another worker
since the master's load (the live bundle is then loaded in this worker, its own copy), plan edits and entities
written since.

A reload (``POST /v1/admin/reload``) is answered by the worker that loads it, and followed by the others within a
second, each loading its own copy, as before. That worker then sends the master SIGHUP: the master loads the bundle
too (:meth:`PreforkServer.reload`; a failed load keeps the previous one) and gunicorn forks fresh workers from it,
stopping the old ones gracefully (requests in flight finish), so memory is shared again.

``serving.prefork = false`` keeps uvicorn's own supervisor (each worker spawned and loading for itself).
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import threading
import time
from typing import TYPE_CHECKING, Any, ClassVar

from gunicorn.app.base import BaseApplication
from uvicorn_worker import UvicornWorker

from serving.state import release_free_memory, release_library_code

if TYPE_CHECKING:
    from fastapi import FastAPI

    from recsys.core.config import Settings
    from serving.runtime import Service

log = logging.getLogger("recsys.serving")
_gunicorn_log = logging.getLogger("gunicorn.error")  # the master's lines go there (recsys.serving has no handler)

THREADS_TIMEOUT_S = 120.0
"""How long the master waits for the threads the load started before it forks anyway (and logs them)."""
WORKER_TIMEOUT_S = 300
"""A worker silent this long is killed and replaced (gunicorn's ``timeout``): a worker that must load a bundle before
it serves (a reload made since the master's load) says nothing until it has, ~30 s at 1M products on a busy machine."""
GRACEFUL_TIMEOUT_S = 30
KEEPALIVE_S = 5  # uvicorn's default, which ``recsys serve`` with one worker keeps


class Worker(UvicornWorker):
    """A gunicorn worker running uvicorn with httptools and uvloop (as ``recsys serve`` with one worker)."""

    CONFIG_KWARGS: ClassVar[dict[str, Any]] = {"loop": "uvloop", "http": "httptools"}


def join_threads(timeout: float) -> list[str]:
    """Wait (at most ``timeout`` seconds in all) for every thread but this one; the names of those still running."""
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread is not threading.current_thread():
            thread.join(max(0.0, deadline - time.monotonic()))
    return [t.name for t in threading.enumerate() if t is not threading.current_thread() and t.is_alive()]


def prepare_fork(service: Service) -> None:
    """Make the loaded ``service`` safe to fork: compliance warmed up (shared by the workers), no thread running,
    no database connection open."""
    if service.settings.serving.warm_up_compliance:
        from recsys.core import compliance

        compliance.warm_up()
    running = join_threads(THREADS_TIMEOUT_S)
    if running:
        log.warning("forking the workers while threads still run in the master: %s", ", ".join(running))
    service.store.engine.dispose()  # no pooled connection crosses the fork; each worker opens its own
    release_free_memory()  # what the finished threads freed goes back to the OS, not into every worker's heap
    if service.settings.serving.release_library_code:  # workers fault back in only the code requests run
        _gunicorn_log.info("dropped %.0f MiB of library code pages before forking", release_library_code() / 2**20)


class PreforkServer(BaseApplication):
    """Gunicorn's arbiter on ``host:port`` with ``workers`` uvicorn workers, forked from a master that loaded the
    service once (``preload_app``)."""

    def __init__(self, settings: Settings, host: str, port: int, workers: int) -> None:
        self.settings = settings
        self.options: dict[str, Any] = {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": Worker,
            "preload_app": True,
            "timeout": WORKER_TIMEOUT_S,
            "graceful_timeout": GRACEFUL_TIMEOUT_S,
            "keepalive": KEEPALIVE_S,
            "loglevel": settings.serving.log_level,
            "accesslog": "-",  # as uvicorn alone: one line per request on stdout
            "errorlog": "-",
            "proc_name": "recsys-serve",
            "child_exit": _child_exit,
            "on_exit": self._on_exit,
            # gunicorn 24+: no control socket (one fixed path per user, which services side by side would share)
            "control_socket_disable": True,
        }
        self.service: Service | None = None
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            if name in self.cfg.settings:  # a setting this gunicorn version does not have is left out
                self.cfg.set(name, value)

    def load(self) -> FastAPI:
        """In the master, before any worker is forked: the service opened and made safe to fork."""
        from serving.app import create_app

        self.service = self._open()
        return create_app(service=self.service)

    def reload(self) -> None:
        """SIGHUP (sent by a worker once it served a reloaded bundle): the service is loaded again here and the
        arbiter then replaces the workers with ones forked from it, so they share memory again; when the load fails
        the workers keep being forked from the previous one."""
        from serving.app import create_app

        super().reload()
        try:
            fresh = self._open()
        except Exception:
            _gunicorn_log.exception("could not load the service again; new workers fork from the previous load")
            return
        previous, self.service = self.service, fresh
        self.callable = create_app(service=fresh)
        if previous is not None:
            previous.stop()
            previous.store.dispose()

    def _open(self) -> Service:
        from serving.app import check_settings, open_service
        from serving.telemetry import ServiceMetrics

        check_settings(self.settings)
        started = time.perf_counter()
        service = open_service(self.settings, ServiceMetrics())
        service.on_reloaded = functools.partial(os.kill, os.getpid(), signal.SIGHUP)  # this master's pid
        prepare_fork(service)
        _gunicorn_log.info("service loaded in %.1f s; forking the workers from it", time.perf_counter() - started)
        return service

    def _on_exit(self, arbiter: Any) -> None:
        """The workers have stopped: the master releases its state and the store."""
        if self.service is not None:
            self.service.stop()
            self.service.store.dispose()


def _child_exit(arbiter: Any, worker: Any) -> None:
    """A worker exited: its Prometheus gauges leave the multiprocess aggregation (``PROMETHEUS_MULTIPROC_DIR``)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def serve(settings: Settings, host: str, port: int, workers: int) -> None:
    """Run the pre-forked service until it is stopped (SIGTERM / SIGINT: the workers finish what they serve)."""
    PreforkServer(settings, host, port, workers).run()
