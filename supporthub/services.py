"""Project-level verbs: API key bookkeeping."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework_api_key.models import AbstractAPIKey, APIKey

from supporthub.models import APIKeyUsage

logger = logging.getLogger(__name__)


def api_key_record_use(*, key: AbstractAPIKey) -> None:
    """Remember that `key` was used now, writing at most once per resolution window.

    A cache marker (shared by every process) decides who writes; without the cache the
    stored timestamp decides, at the price of one read. The write runs on commit: at once in
    a normal (autocommit) request, and never for work that is rolled back.
    """
    window = settings.API_KEY_LAST_USED_RESOLUTION_SECONDS
    now = timezone.now()
    try:
        if not cache.add(f"apikey-used:{key.pk}", 1, timeout=window):
            return
    except Exception:
        logger.warning("cache unavailable; API key last-used falls back to the database")
        recent = now - timedelta(seconds=window)
        if APIKeyUsage.objects.filter(key_id=key.pk, last_used_at__gt=recent).exists():
            return
    transaction.on_commit(partial(_write_last_used, key_id=key.pk, when=now))


def _write_last_used(*, key_id: str, when: datetime) -> None:
    if APIKeyUsage.objects.filter(key_id=key_id).update(last_used_at=when):
        return
    try:
        with transaction.atomic():
            APIKeyUsage.objects.create(key_id=key_id, last_used_at=when)
    except IntegrityError:  # another process created it a moment ago
        APIKeyUsage.objects.filter(key_id=key_id).update(last_used_at=when)


def api_key_revoke(*, key_ids: list[str]) -> int:
    """Revoke the given keys (effective on the next request); returns how many changed."""
    return APIKey.objects.filter(pk__in=key_ids, revoked=False).update(revoked=True)
