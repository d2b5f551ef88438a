"""Inbound MMS media: fetched from Twilio by a task and kept as the message's attachments.

Twilio posts MediaUrl0..N with the SMS webhook; the files behind them are fetched with the
account's credentials (sent to Twilio's API host only), each stored once: its attachment's
`source_key` is "<MessageSid>:<index>", so a retried or redelivered task stores nothing twice.
An MmsFetch row stands for the fetch until its task has finished; a beat sweep queues the fetch
again when the task was lost (broker down when it was published, worker killed).
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Sequence
from datetime import timedelta

import requests
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from supporthub.exceptions import DomainError
from supporthub.tasks import enqueue_on_commit
from telephony.models import MmsFetch
from tickets.attachments import Upload, attachments_check, attachments_store
from tickets.models import Attachment, Message

logger = logging.getLogger(__name__)

MMS_FETCH_TASK = "telephony.mms_media_fetch"
TWILIO_API = "https://api.twilio.com"


SWEEP_BATCH = 500


class MediaFetchError(Exception):
    """Twilio could not give the file now (network, 429, 5xx): worth another try."""


def mms_fetch_queue(*, message: Message, message_sid: str, media_urls: list[str]) -> None:
    """Record the fetch of an inbound MMS's media and queue its task once the transaction commits."""
    MmsFetch.objects.create(
        message=message, message_sid=message_sid, media_urls=media_urls, queued_at=timezone.now()
    )
    enqueue_on_commit(MMS_FETCH_TASK, message.pk, message_sid, media_urls)


def mms_fetch_sweep() -> int:
    """Queue again the fetches still unfinished ATTACHMENT_FETCH_SWEEP_SECONDS after they were
    last queued (their task was lost); how many were queued."""
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.ATTACHMENT_FETCH_SWEEP_SECONDS)
    with transaction.atomic():
        fetches = list(
            MmsFetch.objects.filter(queued_at__lte=cutoff)
            .order_by("pk")
            .select_for_update(skip_locked=True)[:SWEEP_BATCH]
        )
        MmsFetch.objects.filter(pk__in=[fetch.pk for fetch in fetches]).update(queued_at=now)
        for fetch in fetches:
            enqueue_on_commit(MMS_FETCH_TASK, fetch.message_id, fetch.message_sid, fetch.media_urls)
    if fetches:
        logger.warning("%s MMS media fetches were lost; queued them again", len(fetches))
    return len(fetches)


def mms_fetch_abandon(*, message_id: int, error: Exception) -> None:
    """The fetch failed on its last try: no sweep queues it again (the links stay in the text)."""
    logger.error("MMS media of message %s not fetched, giving up: %s", message_id, error)
    MmsFetch.objects.filter(message_id=message_id).delete()


def mms_media_store(*, message_id: int, message_sid: str, media_urls: Sequence[str]) -> int:
    """Fetch and store each of the MMS's media files not stored yet; how many were stored.

    A file Twilio refuses for good (4xx), over a limit or of a refused type is logged and
    left out. Raises MediaFetchError for a failure worth retrying; the files stored before
    it stay stored. Once every file is stored or left out, the fetch is done (no sweep redoes it).
    """
    message = Message.objects.filter(pk=message_id).first()
    if message is None:  # deleted with its ticket since (and its MmsFetch with it)
        return 0
    stored = 0
    for index, url in enumerate(media_urls):
        key = f"{message_sid}:{index}"
        if Attachment.objects.filter(source_key=key).exists():
            continue
        fetched = _fetch(url)
        if fetched is None:
            continue
        content, content_type = fetched
        extension = mimetypes.guess_extension(content_type) or ""
        upload = Upload.of_bytes(f"mms-{message_sid[-8:]}-{index}{extension}", content, source_key=key)
        try:
            with transaction.atomic():
                stored += len(attachments_store(message=message, files=attachments_check([upload])))
        except DomainError as exc:
            logger.warning("MMS %s media %s not kept: %s", message_sid, index, exc.message)
        except IntegrityError:  # another run of the task stored it a moment ago
            continue
    MmsFetch.objects.filter(message_id=message_id).delete()
    return stored


def _fetch(url: str) -> tuple[bytes, str] | None:
    """(content, content type) of a Twilio media URL, or None when it cannot be had for good."""
    base = (settings.TWILIO_API_BASE_URL or TWILIO_API).rstrip("/")
    if not url.startswith(base + "/"):
        logger.warning("MMS media %s is not on %s: not fetched with our credentials", url, base)
        return None
    limit = settings.ATTACHMENT_MAX_FILE_BYTES
    try:
        with requests.get(
            url,
            auth=(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN),
            timeout=settings.ATTACHMENT_FETCH_TIMEOUT_SECONDS,
            stream=True,
        ) as response:
            if response.status_code == 429 or response.status_code >= 500:
                raise MediaFetchError(f"Twilio answered {response.status_code} for {url}")
            if response.status_code >= 400:
                logger.warning("MMS media %s refused by Twilio: %s", url, response.status_code)
                return None
            # One byte over the limit is enough for attachments_check to refuse it.
            content = b""
            for chunk in response.iter_content(64 * 1024):
                content += chunk
                if len(content) > limit:
                    break
            content_type = response.headers.get("Content-Type", "").split(";")[0].strip()
    except requests.RequestException as exc:
        raise MediaFetchError(f"fetching {url} failed: {exc}") from exc
    return content, content_type
