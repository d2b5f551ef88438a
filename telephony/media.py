"""Inbound MMS media: fetched from Twilio by a task and kept as the message's attachments.

Twilio posts MediaUrl0..N with the SMS webhook; the files behind them are fetched with the
account's credentials (sent to Twilio's API host only), each stored once: its attachment's
`source_key` is "<MessageSid>:<index>", so a retried or redelivered task stores nothing twice.
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Sequence

import requests
from django.conf import settings
from django.db import IntegrityError, transaction

from supporthub.exceptions import DomainError
from tickets.attachments import Upload, attachments_check, attachments_store
from tickets.models import Attachment, Message

logger = logging.getLogger(__name__)

MMS_FETCH_TASK = "telephony.mms_media_fetch"
TWILIO_API = "https://api.twilio.com"


class MediaFetchError(Exception):
    """Twilio could not give the file now (network, 429, 5xx): worth another try."""


def mms_media_store(*, message_id: int, message_sid: str, media_urls: Sequence[str]) -> int:
    """Fetch and store each of the MMS's media files not stored yet; how many were stored.

    A file Twilio refuses for good (4xx), over a limit or of a refused type is logged and
    left out. Raises MediaFetchError for a failure worth retrying; the files stored before
    it stay stored.
    """
    message = Message.objects.filter(pk=message_id).first()
    if message is None:  # deleted with its ticket since
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
