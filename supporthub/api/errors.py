"""One JSON error shape for every 4xx/5xx the API and the site return.

    {"detail": "human summary", "code": "machine_code", "errors": {"field": ["reason"]}}

`errors` is present for validation failures and names each field at fault
(`non_field_errors` for problems with the request as a whole).
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404, HttpRequest, JsonResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from supporthub.exceptions import DomainError
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


def _flatten(detail: Any) -> Any:
    """Turn DRF's nested ErrorDetail structures into plain lists of strings per field."""
    if isinstance(detail, dict):
        return {key: _flatten(value) for key, value in detail.items()}
    if isinstance(detail, list):
        if all(isinstance(item, str) for item in detail):
            return [str(item) for item in detail]
        return [_flatten(item) for item in detail]
    return [str(detail)]


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, RequestDataTooBig):
        # A chunked body with no Content-Length passes the middleware; Django stops it here.
        return Response(request_too_large_body(), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DomainError):
        exc = exceptions.ValidationError({exc.field: [exc.message]}, code=exc.code)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        errors = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        fields = ", ".join(errors)
        response.data = {
            "detail": f"Invalid input: {fields}.",
            "code": "invalid",
            "errors": _flatten(errors),
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
