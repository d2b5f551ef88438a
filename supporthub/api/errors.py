"""One JSON error shape for every 4xx/5xx the API and the site return.

    {"detail": "human summary", "code": "machine_code", "errors": {"field": ["reason"]}}

`errors` is present for validation failures and names each field at fault
(`non_field_errors` for problems with the request as a whole).
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent
from django.db import OperationalError
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from supporthub.exceptions import DomainError, TooLarge
from supporthub.middleware import request_too_large_body

logger = logging.getLogger(__name__)


class ErrorSerializer(serializers.Serializer):
    """The body of every error response (documentation only)."""

    detail = serializers.CharField()
    code = serializers.CharField()
    # Shadows Serializer.errors on the class only for the schema; never instantiated with data.
    errors = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False
    )


def _flatten(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as {"field": [...], "contact.email": [...], "items.0.name": [...]}."""
    if isinstance(detail, dict):
        items: Any = detail.items()
    elif isinstance(detail, list) and not all(isinstance(item, str) for item in detail):
        items = ((str(index), item) for index, item in enumerate(detail) if item)
    else:
        messages = detail if isinstance(detail, list) else [detail]
        return {prefix or "non_field_errors": [str(message) for message in messages]}
    flat: dict[str, list[str]] = {}
    for key, value in items:
        flat.update(_flatten(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        # A chunked body with no Content-Length passes the middleware; Django stops it here.
        return Response(request_too_large_body(), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, OperationalError):
        # The database is unreachable (or restarting): tell the client to come back,
        # rather than answering with a bare 500.
        logger.error("database unavailable: %s", exc)
        return Response(
            {"detail": "The database is unavailable; retry shortly.", "code": "service_unavailable"},
            status=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, TooLarge):
        errors = {exc.field: [exc.message]}
        body = {"detail": exc.message, "code": exc.code, "errors": errors}
        return Response(body, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    elif isinstance(exc, DomainError):
        exc = exceptions.ValidationError({exc.field: [exc.message]}, code=exc.code)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = _flatten(exc.detail)
        response.data = {
            "detail": f"Invalid input: {', '.join(errors)}.",
            "code": "invalid",
            "errors": errors,
        }
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        response.data = {
            "detail": str(exc.detail),
            "code": codes if isinstance(codes, str) else "error",
        }
    return response


def _error(request: HttpRequest, status_code: int, detail: str, code: str) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status_code)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    # a form or webhook body over DATA_UPLOAD_MAX_MEMORY_SIZE (e.g. chunked, so the
    # Content-Length check could not see it) is a 413, not a vague 400.
    if isinstance(exception, RequestDataTooBig):
        return JsonResponse(request_too_large_body(), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exception, TooManyFieldsSent):
        return _error(request, status.HTTP_400_BAD_REQUEST, "Too many form fields.", "too_many_fields")
    return _error(request, status.HTTP_400_BAD_REQUEST, "Bad request.", "bad_request")


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _error(request, status.HTTP_403_FORBIDDEN, "Permission denied.", "permission_denied")


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return _error(request, status.HTTP_404_NOT_FOUND, f"No such path: {request.path}", "not_found")


def server_error(request: HttpRequest) -> JsonResponse:
    return _error(
        request,
        status.HTTP_500_INTERNAL_SERVER_ERROR,
        "Internal server error. It has been logged; quote the X-Request-ID header when reporting it.",
        "server_error",
    )
