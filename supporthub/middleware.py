"""Request id, health probe, request size and JSON depth middleware."""

import logging
import re
import uuid
from collections.abc import Callable
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")

# Accept a caller's id only if it is short and harmless in a log line or header.
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdMiddleware:
    """Take a safe incoming X-Request-ID or make one; echo it and expose it to logging."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SAFE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        if settings.SENTRY_DSN:  # errors in Sentry carry the id the caller sees
            import sentry_sdk

            sentry_sdk.set_tag("request_id", request_id)
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class HealthProbeMiddleware:
    """Answer /health/live and /health/ready whatever the Host header says.

    Orchestrators and Docker's HEALTHCHECK probe the container's own address (127.0.0.1,
    10.0.3.7:8000), which production ALLOWED_HOSTS rightly leaves out. Placed before every
    middleware that validates the host; all other paths, /health included, are still checked.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        from supporthub import health

        self.get_response = get_response
        self.probes = {"/health/live": health.live, "/health/ready": health.ready}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        probe = self.probes.get(request.path_info)
        return probe(request) if probe is not None else self.get_response(request)


class RequestIdLogFilter(logging.Filter):
    """Adds `request_id` to every log record (``-`` outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)  # django.request logs after the middleware ran
        record.request_id = getattr(request, "request_id", None) or request_id_var.get()
        return True


class BodySizeLimitMiddleware:
    """Answer 413 before reading a body whose declared length is over the limit."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return JsonResponse(
                {"detail": "Content-Length is not a number.", "code": "bad_request"}, status=400
            )
        # Bodies with files (attachments) may be larger: multipart uploads, inbound email.
        uploading = request.content_type == "multipart/form-data" or request.path.startswith(
            settings.UPLOAD_PATH_PREFIXES
        )
        limit = settings.MAX_UPLOAD_BODY_BYTES if uploading else settings.MAX_REQUEST_BODY_BYTES
        if length > limit:
            return JsonResponse(request_too_large_body(limit), status=413)
        return self.get_response(request)


# Deeper than any body the API or an ESP webhook sends; Python's JSON parser recurses per level
# and a few thousand levels raise RecursionError (a 500) instead of a parse error.
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(rb'"(?:[^"\\]++|\\.)*+"', re.DOTALL)
_JSON_BRACKETS = re.compile(rb"[\[\]{}]")


def json_depth(body: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest (brackets inside strings do not count)."""
    if body.count(b"[") + body.count(b"{") <= MAX_JSON_DEPTH:
        return 0  # too few brackets to go too deep: skip the scan
    depth = deepest = 0
    for bracket in _JSON_BRACKETS.findall(_JSON_STRING.sub(b"", body)):
        depth += 1 if bracket in (b"[", b"{") else -1
        deepest = max(deepest, depth)
    return deepest


class JsonDepthLimitMiddleware:
    """Answer 400 to a JSON body nested deeper than MAX_JSON_DEPTH, before any parser reads it.

    One place for every route that parses JSON: the /v1 writes and the inbound email webhooks.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        content_type = request.content_type or ""
        if (content_type == "application/json" or content_type.endswith("+json")) and json_depth(
            request.body
        ) > MAX_JSON_DEPTH:
            return JsonResponse(
                {"detail": f"JSON nested deeper than {MAX_JSON_DEPTH} levels.", "code": "parse_error"},
                status=400,
            )
        return self.get_response(request)


def request_too_large_body(limit: int | None = None) -> dict[str, str]:
    return {
        "detail": f"Request body is larger than {limit or settings.MAX_REQUEST_BODY_BYTES} bytes.",
        "code": "request_too_large",
    }
