"""Celery signal handlers: request id propagation, logging, metrics bookkeeping.

- A task queued while an HTTP request is handled carries the request's id in a message
  header (`request_id`); the worker puts it back into the logging context while the task
  runs, so the task's log lines carry the same id as the request's.
- Workers use the project's LOGGING (structured, JSON in production) instead of Celery's.
- Every finished task counts in supporthub_celery_tasks_total; a prefork child that exits
  is marked dead for prometheus_client's multiprocess mode.
- A worker process's send lanes (notifications.lanes) close their connections as it exits.
"""

from __future__ import annotations

import logging.config
import os
from contextvars import Token
from typing import Any

from celery import signals

from supporthub.logconfig import task_context_var
from supporthub.middleware import request_id_var

REQUEST_ID_HEADER = "request_id"

# task id -> tokens to restore when the task ends (eager tasks run inside a request).
_tokens: dict[str, tuple[Token[str] | None, Token[dict[str, str] | None]]] = {}


@signals.setup_logging.connect
def _use_project_logging(**kwargs: Any) -> None:
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@signals.before_task_publish.connect
def _add_request_id_header(headers: dict[str, Any] | None = None, **kwargs: Any) -> None:
    request_id = request_id_var.get()
    if headers is not None and request_id != "-" and REQUEST_ID_HEADER not in headers:
        headers[REQUEST_ID_HEADER] = request_id


def _incoming_request_id(task: Any) -> str | None:
    request = getattr(task, "request", None)
    value = getattr(request, REQUEST_ID_HEADER, None)
    if not value:
        headers = getattr(request, "headers", None) or {}
        value = headers.get(REQUEST_ID_HEADER)
    return str(value) if value else None


@signals.task_prerun.connect
def _enter_task_context(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    if task_id is None:
        return
    request_id = _incoming_request_id(task)
    rid_token = request_id_var.set(request_id) if request_id else None
    ctx_token = task_context_var.set({"task_id": task_id, "task_name": getattr(task, "name", "")})
    _tokens[task_id] = (rid_token, ctx_token)
    if request_id:
        from django.conf import settings

        if settings.SENTRY_DSN:
            import sentry_sdk

            sentry_sdk.set_tag("request_id", request_id)


@signals.task_postrun.connect
def _leave_task_context(task_id: str | None = None, **kwargs: Any) -> None:
    tokens = _tokens.pop(task_id or "", None)
    if tokens is None:
        return
    rid_token, ctx_token = tokens
    try:
        task_context_var.reset(ctx_token)
        if rid_token is not None:
            request_id_var.reset(rid_token)
    except ValueError:  # set in another context (should not happen); leave it clean
        task_context_var.set(None)


def _task_name(sender: Any) -> str:
    return str(getattr(sender, "name", None) or sender or "unknown")


@signals.task_success.connect
def _count_success(sender: Any = None, **kwargs: Any) -> None:
    from supporthub.metrics import record_celery_task

    record_celery_task(task=_task_name(sender), state="success")


@signals.task_failure.connect
def _count_failure(sender: Any = None, **kwargs: Any) -> None:
    from supporthub.metrics import record_celery_task

    record_celery_task(task=_task_name(sender), state="failure")


@signals.task_retry.connect
def _count_retry(sender: Any = None, **kwargs: Any) -> None:
    from supporthub.metrics import record_celery_task

    record_celery_task(task=_task_name(sender), state="retry")


@signals.worker_process_init.connect
def _freeze_startup_objects(**kwargs: Any) -> None:
    """A forked worker process keeps its start-up objects out of the full collections, as a
    web worker does (supporthub.warmup)."""
    from supporthub.warmup import freeze_startup_objects

    freeze_startup_objects()


@signals.worker_process_shutdown.connect
def _mark_metrics_process_dead(**kwargs: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid())


@signals.worker_process_shutdown.connect
@signals.worker_shutdown.connect
def _close_lanes(**kwargs: Any) -> None:
    """The send lanes close their database connections rather than drop them at exit."""
    from notifications.lanes import lanes_close

    lanes_close()
