"""Email through Django's mail API: any anymail ESP, SMTP (SMTP_HOST) or the console."""

from __future__ import annotations

import contextlib
import smtplib
from typing import TYPE_CHECKING

import requests
from anymail.exceptions import (
    AnymailAPIError,
    AnymailError,
    AnymailInvalidAddress,
    AnymailRecipientsRefused,
    AnymailRequestsAPIError,
)
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.validators import validate_email

from notifications.channels import ChannelError, ChannelNotConfigured
from notifications.emails import email_files

if TYPE_CHECKING:
    from notifications.models import Delivery

# Backends that print or discard instead of delivering: "skipped", never "sent".
REJECTED = frozenset({"rejected", "invalid", "failed"})
NON_DELIVERING_BACKENDS = (
    "django.core.mail.backends.console.EmailBackend",
    "django.core.mail.backends.dummy.EmailBackend",
)


def send(delivery: Delivery) -> str:
    recipient = delivery.recipient.strip()
    try:
        validate_email(recipient)
    except ValidationError:
        raise ChannelError(f"{recipient!r} is not a valid email address", permanent=True) from None

    payload = delivery.payload or {}
    headers = dict(payload.get("headers") or {})
    message = EmailMultiAlternatives(
        subject=delivery.subject,
        body=delivery.body,
        from_email=payload.get("from_email") or settings.DEFAULT_FROM_EMAIL,
        to=[recipient],
        headers=headers,
        reply_to=payload.get("reply_to") or None,
        connection=_connection(),
    )
    if payload.get("html"):
        message.attach_alternative(payload["html"], "text/html")
    for filename, content, content_type in email_files(delivery):
        message.attach(filename, content, content_type)

    if settings.EMAIL_BACKEND in NON_DELIVERING_BACKENDS:
        message.send()  # prints it, which is the "log what it would send"
        raise ChannelNotConfigured(f"EMAIL_BACKEND is {settings.EMAIL_BACKEND}: printed, not delivered")

    try:
        _send(message)
    except BadHeaderError as exc:  # a line break in a header: the same message fails every time
        raise ChannelError(f"the email cannot be built: {exc}", permanent=True) from exc
    except SentWithoutAnswer as exc:
        raise ChannelError(f"SMTP server did not answer in time after the message was sent: {exc}",
                           unconfirmed=True) from exc  # fmt: skip
    except requests.ReadTimeout as exc:  # anymail's error is also the requests exception
        raise ChannelError(f"the ESP did not answer in time: {exc}", unconfirmed=True) from exc
    except AnymailRecipientsRefused as exc:
        raise ChannelError(f"recipient refused by the ESP: {exc}", permanent=True) from exc
    except AnymailInvalidAddress as exc:
        raise ChannelError(f"invalid address: {exc}", permanent=True) from exc
    except AnymailAPIError as exc:
        status = getattr(exc, "status_code", None)
        transient = status is None or status == 429 or status >= 500
        retry_after = _retry_after(exc) if transient else None
        raise ChannelError(
            f"ESP error {status or ''}: {exc}".strip(),
            permanent=not transient,
            retry_after=retry_after,
            rate_limited=status == 429,
        ) from exc
    except (AnymailError, ImproperlyConfigured) as exc:
        # Configuration problems need a human; retrying will not fix them.
        raise ChannelError(f"email configuration error: {exc}", permanent=True) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        # 5xx: the mailbox does not exist; 4xx (greylisting, a full mailbox): try again later.
        permanent = all(code >= 500 for code, _ in exc.recipients.values())
        raise ChannelError(f"SMTP refused the recipient: {exc.recipients}", permanent=permanent) from exc
    except smtplib.SMTPResponseException as exc:
        permanent = 500 <= exc.smtp_code < 600
        raise ChannelError(f"SMTP {exc.smtp_code}: {exc.smtp_error!r}", permanent=permanent) from exc
    except (TimeoutError, smtplib.SMTPException, OSError) as exc:
        raise ChannelError(f"SMTP connection failed: {exc}") from exc

    status = getattr(message, "anymail_status", None)
    if status is not None and status.status and status.status <= REJECTED:
        raise ChannelError(
            f"the ESP rejected the recipient ({', '.join(sorted(status.status))})", permanent=True
        )
    if status is not None and status.message_id:
        return str(status.message_id)
    return str(message.extra_headers.get("Message-ID") or message.message()["Message-ID"])


def _retry_after(exc: AnymailAPIError) -> float | None:
    response = getattr(exc, "response", None) if isinstance(exc, AnymailRequestsAPIError) else None
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value else None
    except ValueError:
        return None


SMTP_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
# One open SMTP connection per worker process, for the server settings it was opened with:
# a new connection (and TLS handshake) per message was the largest cost of sending email.
_smtp: dict[tuple[object, ...], BaseEmailBackend] = {}


def _smtp_key() -> tuple[object, ...]:
    return (
        settings.EMAIL_HOST,
        settings.EMAIL_PORT,
        settings.EMAIL_HOST_USER,
        settings.EMAIL_USE_TLS,
        settings.EMAIL_USE_SSL,
        settings.EMAIL_TIMEOUT,
    )


def _connection() -> BaseEmailBackend:
    if settings.EMAIL_BACKEND != SMTP_BACKEND:
        return get_connection()
    key = _smtp_key()
    if key not in _smtp:
        _drop_smtp()
        _smtp[key] = get_connection(timeout=settings.EMAIL_TIMEOUT)
    return _smtp[key]


def _drop_smtp() -> None:
    for connection in _smtp.values():
        with contextlib.suppress(Exception):  # a broken connection is being thrown away anyway
            connection.close()
    _smtp.clear()


def _send(message: EmailMultiAlternatives) -> None:
    """Send on the kept connection; a server that hung up since is reconnected to once."""
    if settings.EMAIL_BACKEND != SMTP_BACKEND:
        message.send(fail_silently=False)
        return
    try:
        _smtp_send(message)
    except smtplib.SMTPServerDisconnected:
        _drop_smtp()
        message.connection = _connection()
        _smtp_send(message)


class SentWithoutAnswer(Exception):
    """The SMTP server stopped answering once the message was on its way: it may have it."""


def _smtp_send(message: EmailMultiAlternatives) -> None:
    try:
        # Opened here, the backend keeps the connection after sending (it closes only the
        # connections that send_messages opened itself).
        message.connection.open()  # type: ignore[union-attr]
        try:
            message.send(fail_silently=False)
        except (TimeoutError, smtplib.SMTPServerDisconnected) as exc:
            # smtplib reports a reply that timed out as "disconnected"; a server that hung
            # up (a kept connection gone stale) is not a timeout and is reconnected to.
            if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
                raise SentWithoutAnswer(str(exc) or "timed out") from exc
            raise
    except smtplib.SMTPServerDisconnected:
        raise
    except Exception:
        _drop_smtp()  # after any other failure, start the next message on a fresh connection
        raise
