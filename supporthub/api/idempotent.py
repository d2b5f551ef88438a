"""The `Idempotency-Key` header on POST endpoints (IETF httpapi idempotency-key draft).

Decorate a view's handler with `@idempotent`: a retry with the same key and body replays the
first response and writes nothing; the same key with another body gets 422; a retry while
the first request is still running gets 409. Keys are scoped to the API key or the user.
The OpenAPI schema documents the header and both answers wherever the decorator is used
(supporthub.api.schema).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, status
from rest_framework.request import Request

from supporthub.api.auth import caller_scope
from supporthub.api.renderers import ORJSONRenderer
from supporthub.idempotency import (
    KeyInFlight,
    KeyReused,
    idempotency_claim,
    idempotency_complete,
    idempotency_release,
)

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
# The draft's sf-string (printable ASCII in quotes); also accepted without the quotes.
_KEY = re.compile(r'^"([\x20-\x21\x23-\x7e]{1,255})"$|^([\x21\x23-\x7e][\x20-\x21\x23-\x7e]{0,254})$')

PARAMETER = OpenApiParameter(
    name=HEADER,
    type=OpenApiTypes.STR,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "A unique value (e.g. a UUID) that makes a retry safe. The same key and body within "
        "24 hours replays the first response (with `Idempotent-Replayed: true`) and writes "
        "nothing; the same key with another body gets 422; a retry while the first request is "
        "still running gets 409. Keys are per API key or per user."
    ),
)


class KeyReusedError(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = f"This {HEADER} was already used with a different request."
    default_code = "idempotency_key_reused"


class KeyInFlightError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = f"A request with this {HEADER} is still being processed; retry later."
    default_code = "idempotency_key_in_flight"


Handler = Callable[..., Any]


def idempotent(handler: Handler) -> Handler:
    """Make a view handler honour the Idempotency-Key header (calls without it are unchanged)."""

    @functools.wraps(handler)
    def wrapper(view: Any, request: Request, *args: Any, **kwargs: Any) -> Any:
        raw = request.headers.get(HEADER)
        if raw is None:
            return handler(view, request, *args, **kwargs)
        match = _KEY.match(raw)
        if match is None:
            raise exceptions.ValidationError({HEADER: ["1 to 255 printable ASCII characters."]})
        try:
            claim = idempotency_claim(
                scope=caller_scope(request), key=match[1] or match[2], fingerprint=_fingerprint(request)
            )
        except KeyReused:
            raise KeyReusedError from None
        except KeyInFlight:
            raise KeyInFlightError from None
        if claim.response_status is not None:
            replay = HttpResponse(
                claim.response_body, status=claim.response_status, content_type="application/json"
            )
            replay[REPLAYED_HEADER] = "true"
            return replay
        try:
            # The work and its stored response commit together, or neither does.
            with transaction.atomic():
                response = handler(view, request, *args, **kwargs)
                if status.is_success(response.status_code):
                    body = ORJSONRenderer().render(response.data).decode()
                    idempotency_complete(claim=claim, status=response.status_code, body=body)
                    return response
        except KeyInFlight:
            raise KeyInFlightError from None
        except BaseException:
            idempotency_release(claim=claim)
            raise
        idempotency_release(claim=claim)
        return response

    wrapper.idempotent = True  # type: ignore[attr-defined]  # read by supporthub.api.schema
    return wrapper


def is_idempotent(handler: object) -> bool:
    return bool(getattr(handler, "idempotent", False))


def _fingerprint(request: Request) -> str:
    """SHA-256 of the method, the path and the body as canonical JSON (key order and spacing
    do not matter); a multipart body counts every value of each field and each file's bytes."""
    data = request.data
    if hasattr(data, "lists"):  # a QueryDict: several values per field, and uploaded files
        data = dict(data.lists())
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), default=_file_digest)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _file_digest(value: Any) -> str:
    if not isinstance(value, UploadedFile):
        return str(value)
    digest = hashlib.sha256(str(value.name).encode())
    for chunk in value.chunks():
        digest.update(chunk)
    value.seek(0)  # the view reads it again
    return digest.hexdigest()
