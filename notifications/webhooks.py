"""django-anymail's inbound webhooks, with our answers for bad requests.

anymail checks the basic-auth WEBHOOK_SECRET (400 by default on failure) and parses the
ESP's payload; we answer 403 for bad credentials (and when no secret is configured, so
an open endpoint is never deployed by accident) and 400 with the reason for malformed
input, and write nothing in either case.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from anymail.exceptions import AnymailError, AnymailWebhookValidationFailure
from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from notifications.inbound import InboundEmailRejected

logger = logging.getLogger(__name__)


def guarded(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.method == "POST" and not settings.ANYMAIL.get("WEBHOOK_SECRET"):
            logger.warning("inbound email refused: ANYMAIL_WEBHOOK_SECRET is not set")
            return JsonResponse(
                {
                    "detail": "Inbound email is disabled: set ANYMAIL_WEBHOOK_SECRET.",
                    "code": "not_configured",
                },
                status=403,
            )
        try:
            return view(request, *args, **kwargs)
        except AnymailWebhookValidationFailure:
            logger.warning(
                "inbound email webhook with bad credentials from %s", request.META.get("REMOTE_ADDR")
            )
            return JsonResponse(
                {"detail": "Invalid webhook credentials.", "code": "permission_denied"}, status=403
            )
        except InboundEmailRejected as exc:
            logger.warning("inbound email rejected: %s", exc)
            return JsonResponse({"detail": f"Email rejected: {exc}", "code": "invalid"}, status=400)
        except (AnymailError, ValueError, KeyError, TypeError, AttributeError) as exc:
            # Logged with the traceback: a 400 tells the ESP not to retry, so keep the evidence.
            logger.warning("malformed inbound email webhook: %r", exc, exc_info=True)
            return JsonResponse(
                {
                    "detail": f"Malformed inbound email payload: {exc.__class__.__name__}: {exc}"[:500],
                    "code": "invalid",
                },
                status=400,
            )

    wrapper.csrf_exempt = True  # type: ignore[attr-defined]
    return wrapper
