"""Email content, rendered by the worker that sends it, not by the request that caused it.

A ticket event writes its email deliveries with the template's name in
`payload["template"]` and an empty body; `delivery_render` (called by `delivery_send`
before the adapter) renders the text and HTML from the delivery's ticket and message, and
stores them on the row, so the outbox keeps what was sent. Rendering the two templates of
one email was ~9% of an intake's CPU (perf, issue 8), and the rows written by the request
are smaller. The email shows the ticket as it is when sent, moments after the event.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string

from notifications.channels import ChannelError
from notifications.models import Delivery
from tickets.models import Message, Ticket

TEMPLATES = frozenset({"ticket_created_team", "ticket_created_ack", "inbound_message", "reply"})


def email_payload(template: str, headers: dict[str, str]) -> dict[str, Any]:
    """The payload of an email delivery rendered from `template` when it is sent."""
    if template not in TEMPLATES:
        raise ValueError(f"unknown email template {template!r}")
    return {"template": template, "headers": headers}


def ticket_admin_url(ticket: Ticket) -> str:
    return f"{settings.PUBLIC_BASE_URL}/admin/tickets/ticket/{ticket.pk}/change/"


def render_email(template: str, ticket: Ticket, message: Message | None) -> tuple[str, str]:
    """(text, html) of `template` about `ticket` and the message that caused the email."""
    context = {
        "app_name": settings.APP_NAME,
        "public_base_url": settings.PUBLIC_BASE_URL,
        "ticket": ticket,
        "contact": ticket.contact,
        "priority": ticket.priority_name,
        "body": message.body if message is not None else ticket.description,
        "url": ticket_admin_url(ticket),
        "agent": (message.author_name if message is not None else "") or settings.APP_NAME,
    }
    text = render_to_string(f"notifications/{template}.txt", context)
    html = render_to_string(f"notifications/{template}.html", context)
    return text, html


def delivery_render(delivery: Delivery) -> None:
    """Render a templated email delivery into its body and `payload["html"]`, and store
    them (once: the template's name is dropped). A no-op for any other delivery.

    Raises ChannelError (permanent) when the ticket was deleted before the email was
    rendered, or the template is unknown.
    """
    payload = delivery.payload or {}
    template = payload.get("template")
    if not template:
        return
    ticket = (
        delivery.ticket_id and Ticket.objects.select_related("contact").filter(pk=delivery.ticket_id).first()
    )
    if not ticket:
        raise ChannelError("the ticket was deleted before this email was rendered", permanent=True)
    message = Message.objects.filter(pk=delivery.message_id).first() if delivery.message_id else None
    try:
        text, html = render_email(template, ticket, message)
    except TemplateDoesNotExist as exc:
        raise ChannelError(f"unknown email template {template!r}", permanent=True) from exc
    delivery.body = text
    delivery.payload = {**{k: v for k, v in payload.items() if k != "template"}, "html": html}
    Delivery.objects.filter(pk=delivery.pk).update(body=delivery.body, payload=delivery.payload)
