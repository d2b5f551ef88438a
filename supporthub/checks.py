"""Deployment checks of our own (`manage.py check --deploy`)."""

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Tags, Warning, register


@register(Tags.security, deploy=True)
def rate_limits_need_a_shared_atomic_cache(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if settings.RATELIMIT_ENABLE and not settings.REDIS_URL:
        return [
            Warning(
                "REDIS_URL is not set, so rate limits count in the file cache, whose increment "
                "is not atomic: concurrent requests can pass a limit.",
                hint="Set REDIS_URL (django-redis) in production.",
                id="supporthub.W001",
            )
        ]
    return []


@register(Tags.security, deploy=True)
def metrics_are_not_wide_open(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    if any(network.split("/")[0] in ("0.0.0.0", "::") for network in settings.METRICS_ALLOWED_IPS):  # noqa: S104
        return [
            Warning(
                "METRICS_ALLOWED_IPS allows every address: /metrics is public.",
                hint="List the Prometheus servers' networks, or use METRICS_TOKEN.",
                id="supporthub.W002",
            )
        ]
    return []
