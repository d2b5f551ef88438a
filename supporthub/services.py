"""Project-level verbs: API keys (create with a scope, verify, record use, revoke)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework_api_key.models import AbstractAPIKey, APIKey

from supporthub.models import APIKeyScope, APIKeyUsage

logger = logging.getLogger(__name__)

# A verified key is kept by this process for KEY_RECHECK_SECONDS, then read from the database
# again. Nothing else invalidates it, so a revoke, an expiry date moved earlier or a delete
# reaches every process within that time whatever state the shared cache is in.
KEY_RECHECK_SECONDS = 1.0
_MEMO_LIMIT = 1000
_verified: dict[str, tuple[float, AbstractAPIKey]] = {}
# When this process last recorded each key's use: skips the shared-cache round trip too.
_recorded: dict[str, datetime] = {}


@transaction.atomic
def api_key_create(
    *, name: str, scope: str, expiry_date: datetime | None = None
) -> tuple[AbstractAPIKey, str]:
    """A new key named `name` with `scope` (supporthub.roles.KeyScope); returns it and the raw
    key, which is shown once and never stored."""
    key, raw = APIKey.objects.create_key(name=name, expiry_date=expiry_date)
    APIKeyScope.objects.create(key_id=key.pk, scope=scope)
    return key, raw


def api_key_scope(key: object) -> str | None:
    """The scope of a verified key, None if it has none. Read with the key (api_key_verify):
    a change reaches every process within KEY_RECHECK_SECONDS, as a revoke does."""
    try:
        return str(key.access.scope)  # type: ignore[attr-defined]  # APIKeyScope's reverse accessor
    except (APIKeyScope.DoesNotExist, AttributeError):
        return None


def api_key_verify(raw: str) -> AbstractAPIKey:
    """The usable key `raw` stands for (hash checked, not revoked); APIKey.DoesNotExist if none.

    A key verified less than KEY_RECHECK_SECONDS ago is not read again. Expiry is for the
    caller to check: it changes with time, not with the key's row.
    """
    now = time.monotonic()
    memo = _verified.get(raw)
    if memo is not None and now < memo[0]:
        return memo[1]
    # The library's get_from_key, with the key's scope read in the same query.
    key = APIKey.objects.get_usable_keys().select_related("access").get(prefix=raw.partition(".")[0])
    if not key.is_valid(raw):
        raise APIKey.DoesNotExist("Key is not valid.")
    if len(_verified) >= _MEMO_LIMIT:
        _verified.clear()
    _verified[raw] = (now + KEY_RECHECK_SECONDS, key)
    return key


def forget_api_keys() -> None:
    """Drop this process's memos of verified keys and recorded uses."""
    _verified.clear()
    _recorded.clear()


def api_key_record_use(*, key: AbstractAPIKey) -> None:
    """Remember that `key` was used now, writing at most once per resolution window.

    A cache marker (shared by every process) decides who writes; without the cache the
    stored timestamp decides, at the price of one read. The write runs on commit: at once in
    a normal (autocommit) request, and never for work that is rolled back.
    """
    window = settings.API_KEY_LAST_USED_RESOLUTION_SECONDS
    now = timezone.now()
    last = _recorded.get(key.pk)
    if last is not None and timedelta(0) <= now - last < timedelta(seconds=window):
        return
    marker = f"apikey-used:{key.pk}"
    try:
        if not cache.add(marker, now.timestamp(), timeout=window):
            # Another process recorded a use within the window: this one keeps quiet until
            # the window ends instead of asking the cache on every request.
            recorded = cache.get(marker)
            if isinstance(recorded, float):
                _recorded[key.pk] = datetime.fromtimestamp(recorded, UTC)
            return
    except Exception:
        logger.warning("cache unavailable; API key last-used falls back to the database")
        recent = now - timedelta(seconds=window)
        if APIKeyUsage.objects.filter(key_id=key.pk, last_used_at__gt=recent).exists():
            return
    transaction.on_commit(partial(_write_last_used, key_id=key.pk, when=now))


def _write_last_used(*, key_id: str, when: datetime) -> None:
    _recorded[key_id] = when
    if APIKeyUsage.objects.filter(key_id=key_id).update(last_used_at=when):
        return
    try:
        with transaction.atomic():
            APIKeyUsage.objects.create(key_id=key_id, last_used_at=when)
    except IntegrityError:  # another process created it a moment ago
        APIKeyUsage.objects.filter(key_id=key_id).update(last_used_at=when)


def api_key_revoke(*, key_ids: list[str]) -> int:
    """Revoke the given keys; every process refuses them within KEY_RECHECK_SECONDS.
    Returns how many changed."""
    return APIKey.objects.filter(pk__in=key_ids, revoked=False).update(revoked=True)
