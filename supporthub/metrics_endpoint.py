"""GET /metrics: Prometheus exposition, protected by a bearer token or an IP allow-list.

In multiprocess mode (PROMETHEUS_MULTIPROC_DIR set) the answer merges the files that every
gunicorn worker and Celery process wrote, so any worker answers with the totals.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from drf_spectacular.utils import extend_schema
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from escalation.metrics import COLLECTOR as SCHEDULE_HEALTH
from supporthub.metrics import DomainStateCollector

# Collectors that read the database when scraped (so any process can answer).
_scrape_time: list = [DomainStateCollector(), SCHEDULE_HEALTH]
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    for _collector in _scrape_time:
        REGISTRY.register(_collector)


def _registry() -> CollectorRegistry:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        for collector in _scrape_time:
            registry.register(collector)
        return registry
    return REGISTRY


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer "):
        return hmac.compare_digest(header.removeprefix("Bearer ").strip().encode(), token.encode())
    # The direct peer only: X-Forwarded-For is not trusted for access control.
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    for network in settings.METRICS_ALLOWED_IPS:
        try:
            if address in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False


@extend_schema(exclude=True)
@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request):
        return JsonResponse(
            {
                "detail": "Metrics need `Authorization: Bearer <METRICS_TOKEN>` or an allowed address.",
                "code": "permission_denied",
            },
            status=403,
        )
    return HttpResponse(generate_latest(_registry()), content_type=CONTENT_TYPE_LATEST)
