"""OpenTelemetry tracing, switched on only by OTEL_EXPORTER_OTLP_ENDPOINT.

Unset, nothing from opentelemetry is even imported. Set, spans for Django requests, Celery
tasks (publish and run), psycopg queries and outgoing `requests` calls (Twilio, Slack,
anymail ESPs) go to the OTLP/HTTP endpoint; the standard OTEL_* variables (headers, sampler,
resource attributes) are honoured by the SDK. Sentry is set up in settings (SENTRY_DSN).
"""

from __future__ import annotations

import logging

from django.conf import settings

logger = logging.getLogger(__name__)

_tracing_started = False


def tracing_enabled() -> bool:
    return _tracing_started


def init_tracing() -> bool:
    """Install the tracer provider and instrumentations once; True when tracing is on."""
    global _tracing_started
    if _tracing_started or not settings.OTEL_EXPORTER_OTLP_ENDPOINT:
        return _tracing_started
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create(
        {
            "service.name": settings.OTEL_SERVICE_NAME,
            "service.version": settings.APP_VERSION,
            "deployment.environment": settings.SENTRY_ENVIRONMENT,
        }
    )
    provider = TracerProvider(resource=resource)
    # The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (+ "/v1/traces") and OTEL_EXPORTER_OTLP_HEADERS.
    # BatchSpanProcessor restarts its thread after fork (gunicorn workers, Celery prefork children).
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    DjangoInstrumentor().instrument()
    CeleryInstrumentor().instrument()
    PsycopgInstrumentor().instrument(enable_commenter=False)
    RequestsInstrumentor().instrument()
    _tracing_started = True
    logger.info("OpenTelemetry tracing to %s", settings.OTEL_EXPORTER_OTLP_ENDPOINT)
    return True


def shutdown_tracing() -> None:
    """Flush pending spans (used at exit and by tests)."""
    if not _tracing_started:
        return
    from opentelemetry import trace

    provider = trace.get_tracer_provider()
    force_flush = getattr(provider, "force_flush", None)
    if force_flush is not None:
        force_flush()
