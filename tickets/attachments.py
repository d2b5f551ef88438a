"""Files on messages: checked, named, stored, linked to and purged here, and nowhere else.

A file is judged before anything is written: its size against the per-file and per-message
limits (TooLarge, a 413), its type from its content (filetype), never from its name or the
sender's word, against ATTACHMENT_ALLOWED_TYPES / ATTACHMENT_REFUSED_TYPES. Files are written
to STORAGES["attachments"] inside the caller's transaction, with their rows; a write that fails
removes the files already written, and a transaction that rolls back after them leaves files
no row names, which the check queued at write time (`attachments_forget_unsaved`) deletes.
Deleting an attachment row (a ticket deleted, the retention purge) deletes its file on commit.
Images get a small thumbnail for the console, made with Pillow on its first request and kept in
the same storage; an image over ATTACHMENT_THUMBNAIL_MAX_PIXELS (a decompression bomb) or one
Pillow cannot read gets none, and is shown as a link only.
"""

from __future__ import annotations

import codecs
import logging
import os
import re
import struct
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from io import BytesIO
from typing import IO, Any

import filetype
from django.conf import settings
from django.core import signing
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models.fields.files import FieldFile
from django.urls import reverse
from django.utils import timezone
from django.utils.text import get_valid_filename
from PIL import Image, ImageOps, UnidentifiedImageError

from supporthub.exceptions import DomainError, TooLarge
from supporthub.tasks import publish
from tickets.models import INLINE_IMAGE_TYPES, Attachment, Message, attachment_path, attachment_storage

logger = logging.getLogger(__name__)

FORGET_UNSAVED_TASK = "tickets.attachments_forget_unsaved"
# Long enough for any transaction that wrote files to have ended; under the broker's
# visibility timeout, so the check is not delivered twice.
FORGET_UNSAVED_AFTER_SECONDS = 900.0
_SNIFF_BYTES = 8192
_MAX_NAME = 120
_LINK_SALT = "tickets.attachment-link"
THUMBNAIL_BOX = (320, 240)  # twice the console's 160x120, sharp on high-density screens


@dataclass(frozen=True)
class Upload:
    """A file offered for a message: its name as sent, its content, and for an email's inline
    image its Content-ID; `source_key` names where a fetched file came from (stored once)."""

    name: str
    file: File
    content_id: str = ""
    source_key: str | None = None

    @classmethod
    def of_bytes(cls, name: str, data: bytes, **extra: Any) -> Upload:
        return cls(name=name, file=ContentFile(data), **extra)


@dataclass(frozen=True)
class CheckedUpload:
    upload: Upload
    filename: str
    content_type: str
    size: int


def sanitise_filename(name: str) -> str:
    """A safe base name: no directories, control characters or leading dots; at most 120
    characters, keeping the extension; "attachment" when nothing is left."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", name or ""))[-1]
    base = "".join(char for char in base if unicodedata.category(char)[0] != "C")
    base = re.sub(r"[^\w.\- ]", "_", base).strip(" .")
    try:
        base = get_valid_filename(base).lstrip(".")
    except Exception:  # Django refuses "", "." and ".."
        base = ""
    stem, ext = os.path.splitext(base)
    if len(base) > _MAX_NAME:
        ext = ext[:16]
        base = stem[: _MAX_NAME - len(ext)] + ext
    return base or "attachment"


def sniff_type(head: bytes) -> str:
    """The content type of a file from its first bytes: filetype's magic numbers, else
    text/plain for UTF-8 text, else application/octet-stream."""
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    if b"\x00" not in head:
        try:
            codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        except UnicodeDecodeError:
            pass
        else:
            return "text/plain"
    return "application/octet-stream"


def _head(file: File) -> bytes:
    file.seek(0)
    head = file.read(_SNIFF_BYTES)
    file.seek(0)
    return head if isinstance(head, bytes) else head.encode()


def attachments_check(uploads: Sequence[Upload]) -> list[CheckedUpload]:
    """Judge `uploads` before anything is written: their count, sizes and types.

    Raises TooLarge (per file, per message) or DomainError (too many files, a refused type).
    """
    if len(uploads) > settings.ATTACHMENT_MAX_FILES:
        raise DomainError(
            f"At most {settings.ATTACHMENT_MAX_FILES} files per message.",
            field="attachments",
            code="too_many",
        )
    checked, total = [], 0
    for upload in uploads:
        filename = sanitise_filename(upload.name)
        size = int(upload.file.size or 0)
        if size > settings.ATTACHMENT_MAX_FILE_BYTES:
            raise TooLarge(
                f"{filename} is {size} bytes; the limit for a file is {settings.ATTACHMENT_MAX_FILE_BYTES}.",
                field="attachments",
            )
        total += size
        if total > settings.ATTACHMENT_MAX_MESSAGE_BYTES:
            raise TooLarge(
                f"The files add up to more than {settings.ATTACHMENT_MAX_MESSAGE_BYTES} bytes, "
                "the limit for one message.",
                field="attachments",
            )
        content_type = sniff_type(_head(upload.file))
        allowed = settings.ATTACHMENT_ALLOWED_TYPES
        if content_type in settings.ATTACHMENT_REFUSED_TYPES or (allowed and content_type not in allowed):
            raise DomainError(
                f"{filename}: files of type {content_type} are not accepted.",
                field="attachments",
                code="unsupported_type",
            )
        checked.append(CheckedUpload(upload, filename, content_type, size))
    return checked


def attachments_acceptable(uploads: Sequence[Upload]) -> tuple[list[Upload], list[str]]:
    """For a message that must not be refused (an inbound email): the uploads that pass
    `attachments_check` together, in order, and a note for each one left out and why."""
    kept: list[Upload] = []
    notes: list[str] = []
    for upload in uploads:
        try:
            attachments_check([*kept, upload])
        except DomainError as exc:
            notes.append(f"Attachment not kept: {exc.message}")
        else:
            kept.append(upload)
    return kept, notes


def attachments_store(*, message: Message, files: Sequence[CheckedUpload]) -> list[Attachment]:
    """Write checked `files` and their rows on `message`, in the caller's transaction.

    A file whose `source_key` is already stored is skipped. If a write fails, the files
    already written are deleted and the error is raised.
    """
    if not files:
        return []
    keys = [item.upload.source_key for item in files if item.upload.source_key]
    known = set(Attachment.objects.filter(source_key__in=keys).values_list("source_key", flat=True))
    attachments: list[Attachment] = []
    try:
        for item in files:
            if item.upload.source_key in known:
                continue
            attachment = Attachment(
                message=message,
                filename=item.filename,
                content_type=item.content_type,
                size=item.size,
                content_id=item.upload.content_id[:255],
                source_key=item.upload.source_key,
                thumbnail_refused=item.content_type in INLINE_IMAGE_TYPES
                and not _previewable(item.upload.file),
            )
            item.upload.file.seek(0)
            attachment.file.save(item.filename, item.upload.file, save=False)
            attachments.append(attachment)
        Attachment.objects.bulk_create(attachments)
    except BaseException:
        _delete_files([attachment.file.name for attachment in attachments if attachment.file.name])
        raise
    names = [attachment.file.name for attachment in attachments if attachment.file.name]
    if names:
        publish(FORGET_UNSAVED_TASK, names, countdown=FORGET_UNSAVED_AFTER_SECONDS)
    return attachments


def attachments_forget_unsaved(*, names: Sequence[str]) -> int:
    """Delete the files among `names` that no attachment row names (their transaction rolled
    back, or the process died before it committed); how many were deleted."""
    known = set(Attachment.objects.filter(file__in=names).values_list("file", flat=True))
    orphans = [name for name in names if name not in known]
    _delete_files(orphans)
    return len(orphans)


def _delete_files(names: Sequence[str]) -> None:
    storage = attachment_storage()
    for name in names:
        try:
            storage.delete(name)
        except Exception:  # a file left behind must not undo the deletion of its row
            logger.exception("could not delete attachment file %s", name)


def attachment_file_delete_on_commit(attachment: Attachment) -> None:
    """Delete `attachment`'s file and thumbnail once the deletion of its row commits (post_delete)."""
    names = [name for name in (attachment.file.name, attachment.thumbnail.name) if name]
    if names:
        transaction.on_commit(lambda: _delete_files(names))


# --- thumbnails --------------------------------------------------------------------------------
class NoThumbnail(Exception):
    """The image is too large to decode safely, or Pillow cannot read it."""


def attachment_thumbnail(attachment: Attachment) -> FieldFile | None:
    """`attachment`'s thumbnail, made and stored on first use; None for a file that has none
    (not an image, or refused: the row remembers it). Raises OSError when the file is missing."""
    if not attachment.has_preview:
        return None
    if attachment.thumbnail:
        return attachment.thumbnail
    with attachment.file.open("rb") as handle:
        try:
            content = _thumbnail_of(handle)
        except NoThumbnail as exc:
            logger.warning("attachment %s gets no thumbnail: %s", attachment.pk, exc)
            Attachment.objects.filter(pk=attachment.pk).update(thumbnail_refused=True)
            attachment.thumbnail_refused = True
            return None
    name = attachment.thumbnail.storage.save(
        attachment_path(attachment, "thumbnail.webp"), ContentFile(content)
    )
    if not Attachment.objects.filter(pk=attachment.pk, thumbnail="").update(thumbnail=name):
        _delete_files([name])  # another request stored one first, or the attachment is gone
        stored = Attachment.objects.filter(pk=attachment.pk).first()
        return stored.thumbnail if stored is not None and stored.thumbnail else None
    attachment.thumbnail.name = name
    return attachment.thumbnail


def _open_image(handle: IO[bytes]) -> Image.Image:
    """The image in `handle`, its header read and its size checked; nothing decoded yet."""
    try:
        image = Image.open(handle)  # raises DecompressionBombError past twice MAX_IMAGE_PIXELS
    except (Image.DecompressionBombError, UnidentifiedImageError, OSError, ValueError) as exc:
        raise NoThumbnail(str(exc)) from exc
    if image.width * image.height > settings.ATTACHMENT_THUMBNAIL_MAX_PIXELS:
        raise NoThumbnail(
            f"{image.width}x{image.height} pixels is more than ATTACHMENT_THUMBNAIL_MAX_PIXELS "
            f"({settings.ATTACHMENT_THUMBNAIL_MAX_PIXELS})"
        )
    return image


def _previewable(file: File) -> bool:
    """Whether the image's header allows a thumbnail (read at store time: cheap, decodes nothing)."""
    file.seek(0)
    try:
        _open_image(file)
    except NoThumbnail:
        return False
    finally:
        file.seek(0)
    return True


def _thumbnail_of(handle: IO[bytes]) -> bytes:
    """A WebP of the image's first frame that fits THUMBNAIL_BOX, turned upright."""
    image = _open_image(handle)
    try:
        image.draft("RGB", THUMBNAIL_BOX)  # a JPEG is decoded at a reduced scale
        image = ImageOps.exif_transpose(image)
        image.thumbnail(THUMBNAIL_BOX)
        transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        out = BytesIO()
        image.convert("RGBA" if transparent else "RGB").save(out, "WEBP", quality=80)
    except (Image.DecompressionBombError, OSError, EOFError, ValueError, SyntaxError, struct.error) as exc:
        raise NoThumbnail(str(exc)) from exc  # the many ways a damaged file fails to decode
    return out.getvalue()


def attachments_purge(*, days: int | None = None) -> int:
    """Delete attachments older than `days` (ATTACHMENT_RETENTION_DAYS; 0: keep all) and,
    on commit, their files; how many."""
    days = settings.ATTACHMENT_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    cutoff = timezone.now() - timedelta(days=days)
    deleted = 0
    while True:
        with transaction.atomic():
            batch = list(Attachment.objects.filter(created_at__lt=cutoff).values_list("pk", flat=True)[:500])
            if not batch:
                return deleted
            deleted += Attachment.objects.filter(pk__in=batch).delete()[1].get("tickets.Attachment", 0)


# --- links -------------------------------------------------------------------------------------
def attachment_api_url(attachment: Attachment) -> str:
    """The download URL that needs /v1 credentials (an API key or a staff session)."""
    return settings.PUBLIC_BASE_URL + reverse("attachment-download", args=[attachment.pk])


def attachment_signed_url(attachment: Attachment) -> str:
    """A download URL anyone holding it may use for ATTACHMENT_LINK_MAX_AGE_SECONDS."""
    token = signing.TimestampSigner(salt=_LINK_SALT).sign(str(attachment.pk))
    return settings.PUBLIC_BASE_URL + reverse("attachment-link", args=[token])


def attachment_from_token(token: str) -> Attachment | None:
    """The attachment a signed link names, or None when it is forged or expired."""
    try:
        pk = signing.TimestampSigner(salt=_LINK_SALT).unsign(
            token, max_age=settings.ATTACHMENT_LINK_MAX_AGE_SECONDS
        )
    except signing.BadSignature:
        return None
    return Attachment.objects.filter(pk=int(pk)).first()
