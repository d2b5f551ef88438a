"""Email content: the request that causes an email writes what it says, and the worker that
sends it renders the text and HTML.

A ticket event writes an email delivery with an empty body and, in its payload, the
template's name and the few values the templates show (`email_payload`): the ticket's
reference, subject and channel, the contact, the message. `delivery_send` renders them
(`delivery_render`) just before the adapter runs and stores the text and HTML on the row
with the attempt's outcome, so the outbox keeps what was sent. The email says what it
would have said when the event happened: the values are taken then. Rendering the two
templates in the request was ~9% of an intake's CPU; rendering from the
payload reads nothing from the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string

from notifications.channels import ChannelError
from notifications.models import Delivery
from tickets.models import Attachment, Message, Ticket

TEMPLATES = frozenset({"ticket_created_team", "ticket_created_ack", "inbound_message", "reply"})


def ticket_admin_url(ticket: Ticket) -> str:
    return f"{settings.PUBLIC_BASE_URL}/admin/tickets/ticket/{ticket.pk}/change/"


def email_payload(
    template: str,
    headers: dict[str, str],
    *,
    ticket: Ticket,
    message: Message | None,
    agent: str = "",
    attachments: Sequence[int] = (),
) -> dict[str, Any]:
    """The payload of an email delivery about `ticket` (and the `message` that caused it),
    rendered from `template` when it is sent, carrying the files of the `attachments` ids."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown email template {template!r}")
    contact = ticket.contact
    context = {
        "ticket": {"reference": ticket.reference, "subject": ticket.subject, "channel": ticket.channel},
        "contact": {"name": contact.name, "email": contact.email, "phone": contact.phone},
        "priority": ticket.priority_name,
        "body": message.body if message is not None else ticket.description,
        "url": ticket_admin_url(ticket),
        "agent": agent or settings.APP_NAME,
    }
    payload: dict[str, Any] = {"template": template, "context": context, "headers": headers}
    if attachments:
        payload["attachments"] = list(attachments)
    return payload


def delivery_render(delivery: Delivery) -> dict[str, Any]:
    """Render a templated email delivery into its body and `payload["html"]` (in memory);
    the fields to store with the attempt's outcome, or {} for any other delivery.

    Raises ChannelError (permanent) for a template that does not exist.
    """
    payload = delivery.payload or {}
    template = payload.get("template")
    if not template:
        return {}
    context = {"app_name": settings.APP_NAME, "public_base_url": settings.PUBLIC_BASE_URL}
    context.update(payload.get("context") or {})
    try:
        text = render_to_string(f"notifications/{template}.txt", context)
        html = render_to_string(f"notifications/{template}.html", context)
    except TemplateDoesNotExist as exc:
        raise ChannelError(f"unknown email template {template!r}", permanent=True) from exc
    delivery.body = text
    delivery.payload = {"headers": payload.get("headers") or {}, "html": html}
    if payload.get("attachments"):
        delivery.payload["attachments"] = payload["attachments"]
    return {"body": delivery.body, "payload": delivery.payload}


def email_files(delivery: Delivery) -> list[tuple[str, bytes, str]]:
    """(file name, content, content type) of each attachment the email carries, read from
    storage at send time; attachments deleted since (retention, ticket deleted) are left out.

    Raises ChannelError (transient) when the storage cannot be read.
    """
    ids = (delivery.payload or {}).get("attachments") or []
    files = []
    for attachment in Attachment.objects.filter(pk__in=ids).order_by("pk"):
        try:
            with attachment.file.open("rb") as handle:
                files.append((attachment.filename, handle.read(), attachment.content_type))
        except OSError as exc:
            raise ChannelError(f"attachment {attachment.pk} could not be read: {exc}") from exc
    return files
