"""Idempotency keys: claim a key before the work, store the response with it, replay it.

Follows the IETF httpapi idempotency-key draft. The row is inserted before the work runs, so
the database's unique constraint decides which of two concurrent requests does the work; the
work and the stored response then commit in one transaction (supporthub.api.idempotent), so
a claim still in flight after IDEMPOTENCY_IN_FLIGHT_SECONDS belongs to a request that died
without committing anything, and may be taken over.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from supporthub.models import IdempotencyKey


class KeyReused(Exception):
    """The key was first sent with another request (method, path or body)."""


class KeyInFlight(Exception):
    """The key's first request is still being processed."""


def idempotency_claim(*, scope: str, key: str, fingerprint: str) -> IdempotencyKey:
    """Claim `key` in `scope` for a request with `fingerprint`.

    Returns the claimed row (`response_status` None: this request does the work) or the
    completed row of the first request (replay its response). Raises KeyReused or KeyInFlight.
    """
    ttl = timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS)
    in_flight = timedelta(seconds=settings.IDEMPOTENCY_IN_FLIGHT_SECONDS)
    for _ in range(3):  # each pass ends in a decision unless another request changed the row
        now = timezone.now()
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(
                    scope=scope, key=key, fingerprint=fingerprint, created_at=now
                )
        except IntegrityError:
            pass
        first = IdempotencyKey.objects.filter(scope=scope, key=key).first()
        if first is None:  # released or purged a moment ago
            continue
        if first.created_at <= now - ttl:
            IdempotencyKey.objects.filter(pk=first.pk, created_at=first.created_at).delete()
            continue
        if first.fingerprint != fingerprint:
            raise KeyReused
        if first.response_status is not None:
            return first
        if first.created_at > now - in_flight:
            raise KeyInFlight
        abandoned = IdempotencyKey.objects.filter(
            pk=first.pk, response_status__isnull=True, created_at=first.created_at
        )
        if abandoned.update(created_at=now):
            first.created_at = now
            return first
    raise KeyInFlight


def idempotency_complete(*, claim: IdempotencyKey, status: int, body: str) -> None:
    """Store the response of the claimed request; call it inside the work's transaction.

    Raises KeyInFlight if the claim was taken over meanwhile (the request ran longer than
    IDEMPOTENCY_IN_FLIGHT_SECONDS): the work must then roll back, not happen twice.
    """
    mine = IdempotencyKey.objects.filter(
        pk=claim.pk, created_at=claim.created_at, response_status__isnull=True
    )
    if not mine.update(response_status=status, response_body=body):
        raise KeyInFlight


def idempotency_release(*, claim: IdempotencyKey) -> None:
    """Give the key back after a request that wrote nothing, so the client may retry it."""
    IdempotencyKey.objects.filter(
        pk=claim.pk, created_at=claim.created_at, response_status__isnull=True
    ).delete()


def idempotency_purge() -> int:
    """Delete keys older than IDEMPOTENCY_KEY_TTL_SECONDS; returns how many."""
    cutoff = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS)
    deleted, _ = IdempotencyKey.objects.filter(created_at__lte=cutoff).delete()
    return deleted
