"""Sentry and OpenTelemetry start only when configured, and then really send data.

Each case runs in a child process (both SDKs install process-wide hooks) against a fake
collector on 127.0.0.1 that the real SDK talks to.
"""

import gzip
import json
import os
import subprocess
import sys
import threading
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.services import ROOT, child_env

SCRIPT = """
import os, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supporthub.settings")
django.setup()
from django.conf import settings
settings.ROOT_URLCONF = "tests.ops.boom_urls"
from django.test import Client
client = Client(raise_request_exception=False)
print("live", client.get("/health/live", HTTP_X_REQUEST_ID="rid-live").status_code)
print("boom", client.get("/boom", HTTP_X_REQUEST_ID="rid-boom-1").status_code)
print("health", client.get("/health").status_code)
import sentry_sdk
print("sentry_active", sentry_sdk.get_client().is_active())
# (redis-py imports opentelemetry's API for its own optional metrics; our instrumentation
# and SDK must stay out.)
print("otel_instrumented", any(name.startswith(("opentelemetry.instrumentation", "opentelemetry.sdk.trace"))
      for name in sys.modules) or any("opentelemetry" in m for m in settings.MIDDLEWARE))
from supporthub.observability import shutdown_tracing, tracing_enabled
print("tracing", tracing_enabled())
shutdown_tracing()
sentry_sdk.flush(timeout=5)
"""


@contextmanager
def fake_collector() -> Iterator[tuple[str, list[tuple[str, dict[str, str], bytes]]]]:
    """An HTTP server that accepts any POST and records (path, headers, decoded body)."""
    received: list[tuple[str, dict[str, str], bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            encoding = self.headers.get("Content-Encoding", "")
            if encoding == "gzip":
                body = gzip.decompress(body)
            elif encoding == "deflate":
                body = zlib.decompress(body)
            elif encoding == "br":
                import brotli  # only if sentry-sdk found brotli installed

                body = brotli.decompress(body)
            received.append((self.path, dict(self.headers), body))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def _run(**env: str) -> dict[str, str]:
    child = {k: v for k, v in child_env().items() if not k.startswith(("SENTRY_", "OTEL_"))}
    child.update(ALLOWED_HOSTS="testserver", **env)
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=ROOT, env=child, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    return dict(line.split(" ", 1) for line in result.stdout.splitlines() if " " in line)


def test_neither_sentry_nor_opentelemetry_is_loaded_when_unset():
    out = _run()
    assert out["live"] == "200"
    assert out["boom"] == "500"
    assert out["sentry_active"] == "False"
    assert out["otel_instrumented"] == "False"
    assert out["tracing"] == "False"


def test_sentry_reports_a_crash_tagged_with_the_request_id():
    with fake_collector() as (address, received):
        out = _run(SENTRY_DSN=f"http://publickey@{address}/1", APP_VERSION="9.9.9")
    assert out["sentry_active"] == "True"
    events = []
    for path, _, body in received:
        assert path == "/api/1/envelope/"
        for line in body.splitlines():
            try:
                item = json.loads(line)
            except ValueError:
                continue
            if isinstance(item, dict) and item.get("exception"):
                events.append(item)
    assert events, received
    (event,) = events
    assert event["tags"]["request_id"] == "rid-boom-1"
    assert event["release"] == "9.9.9"
    assert event["exception"]["values"][-1]["type"] == "RuntimeError"


def test_opentelemetry_exports_request_spans_when_an_endpoint_is_set():
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    with fake_collector() as (address, received):
        out = _run(OTEL_EXPORTER_OTLP_ENDPOINT=f"http://{address}", OTEL_SERVICE_NAME="supporthub-test")
    assert out["tracing"] == "True"
    spans, services = [], set()
    for path, headers, body in received:
        assert path == "/v1/traces"
        assert {k.lower(): v for k, v in headers.items()}["content-type"] == "application/x-protobuf"
        export = ExportTraceServiceRequest.FromString(body)
        for resource_spans in export.resource_spans:
            for attribute in resource_spans.resource.attributes:
                if attribute.key == "service.name":
                    services.add(attribute.value.string_value)
            for scope_spans in resource_spans.scope_spans:
                spans += [span.name for span in scope_spans.spans]
    assert services == {"supporthub-test"}
    assert any("health/live" in name for name in spans), spans
    assert any("boom" in name for name in spans), spans
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        assert any(name.startswith("SELECT") for name in spans), spans  # psycopg instrumented
