"""gunicorn settings read automatically from the working directory (see docs/observability.md).

Command-line flags (Procfile) still win; this file only adds hooks.
"""

import os
from typing import Any

# Feed tokens in query strings are written as [redacted] (supporthub/accesslog.py).
logger_class = "supporthub.accesslog.AccessLogger"


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's live gauges must not linger in Prometheus multiprocess mode."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)


def post_worker_init(worker: Any) -> None:
    """Warm the worker before it accepts connections (supporthub.warmup)."""
    from supporthub.warmup import warm

    worker.log.info("worker %s warmed in %.2fs", worker.pid, warm())
