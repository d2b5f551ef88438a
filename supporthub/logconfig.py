"""Structured logging with structlog, for stdlib loggers and structlog loggers alike.

Every record goes through the same processors: timestamp, level, logger name, the request
id of the HTTP request (or the Celery task that inherited it), the task id and name inside
a task, then JSON (production) or aligned key=value text (development).
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

# Set by supporthub.celery_signals while a task runs.
task_context_var: ContextVar[dict[str, str] | None] = ContextVar("task_context", default=None)


def add_request_context(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    """Adds request_id (``-`` outside a request or task) and the current task's id and name."""
    from supporthub.middleware import request_id_var

    request_id = request_id_var.get()
    record = event_dict.get("_record")
    request = getattr(record, "request", None) if record is not None else None
    if request is not None and not isinstance(request, str):
        # django.request logs a 4xx/5xx after the middleware has returned: use the request's id.
        request_id = getattr(request, "request_id", request_id)
        event_dict.pop("request", None)  # its repr is noise; keep the useful parts
        event_dict.setdefault("method", getattr(request, "method", None))
        event_dict.setdefault("path", getattr(request, "path", None))
    event_dict.setdefault("request_id", request_id)
    task = task_context_var.get()
    if task:
        for key, value in task.items():
            event_dict.setdefault(key, value)
    return event_dict


def _drop_color_message(logger: WrappedLogger, method_name: str, event_dict: EventDict) -> EventDict:
    event_dict.pop("color_message", None)
    return event_dict


def shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        add_request_context,
        _drop_color_message,
    ]


class StructuredFormatter(structlog.stdlib.ProcessorFormatter):
    """A logging.Formatter that renders every record as JSON (``fmt="json"``) or for humans."""

    def __init__(self, fmt: str = "json", **kwargs: Any) -> None:
        renderer: Processor
        if fmt == "json":
            renderer = structlog.processors.JSONRenderer()
            final: list[Processor] = [structlog.processors.format_exc_info, renderer]
        else:
            renderer = structlog.dev.ConsoleRenderer(colors=False)
            final = [renderer]
        super().__init__(
            foreign_pre_chain=shared_processors(),
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
        )
        _configure_structlog()


_configured = False


def _configure_structlog() -> None:
    """Route `structlog.get_logger()` through stdlib logging, so one handler prints everything."""
    global _configured
    if _configured:
        return
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared_processors(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    _configured = True


def get_logger(name: str) -> Any:
    """A structlog logger (``log.info("event", key=value)``) printed like every other line."""
    return structlog.get_logger(name)


__all__ = ["StructuredFormatter", "get_logger", "task_context_var"]
