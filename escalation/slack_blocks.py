"""How an incident looks in Slack: Block Kit blocks with Acknowledge, Resolve and Escalate
buttons, drawn from the incident's state (a page when it is posted, the same message after a
click). Only rendering: no database writes, no Slack calls."""

from __future__ import annotations

from typing import Any

from escalation.models import Incident, IncidentStatus

ACKNOWLEDGE = "incident_acknowledge"
RESOLVE = "incident_resolve"
ESCALATE = "incident_escalate"
BUTTONS = (
    (ACKNOWLEDGE, "Acknowledge", None),
    (RESOLVE, "Resolve", "primary"),
    (ESCALATE, "Escalate", "danger"),
)
# Timeline events shown under the message: what people did.
HUMAN_EVENTS = ("acknowledged", "resolved", "escalated")
SHOWN_EVENTS = 5


def escape(text: str) -> str:
    """`text` safe for Slack mrkdwn: no mention (<!channel>), no disguised link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _buttons(incident: Incident) -> list[dict[str, Any]]:
    allowed = {
        IncidentStatus.TRIGGERED: (ACKNOWLEDGE, RESOLVE, ESCALATE),
        IncidentStatus.ACKNOWLEDGED: (RESOLVE, ESCALATE),
    }.get(IncidentStatus(incident.status), ())
    buttons = []
    for action_id, label, style in BUTTONS:
        if action_id in allowed:
            button: dict[str, Any] = {
                "type": "button",
                "action_id": action_id,
                "text": {"type": "plain_text", "text": label},
                "value": str(incident.pk),
            }
            if style:
                button["style"] = style
            buttons.append(button)
    return buttons


def _status_line(incident: Incident) -> str:
    if incident.status == IncidentStatus.RESOLVED:
        who = f" by {incident.resolved_by.get_username()}" if incident.resolved_by else ""
        return f":white_check_mark: *Resolved*{escape(who)}"
    if incident.status == IncidentStatus.ACKNOWLEDGED:
        who = f" by {incident.acknowledged_by.get_username()}" if incident.acknowledged_by else ""
        return f":eyes: *Acknowledged*{escape(who)}"
    return ":rotating_light: *Triggered*"


def incident_blocks(incident: Incident) -> list[dict[str, Any]]:
    """The incident as Block Kit blocks: title (and runbook), state, who did what, and the
    buttons its state allows."""
    ticket = f" · ticket {incident.ticket.reference}" if incident.ticket_id and incident.ticket else ""
    title = f"*Incident #{incident.pk}*: {escape(incident.title)}{escape(ticket)}"
    runbook = str(incident.policy_snapshot.get("runbook") or "")
    if runbook:
        title += f"\nRunbook: {escape(runbook)}"
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": title}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _status_line(incident)}]},
    ]
    history = list(
        incident.events.filter(kind__in=HUMAN_EVENTS).order_by("-created_at", "-id")[:SHOWN_EVENTS]
    )
    if history:
        lines = "\n".join(escape(event.message) for event in reversed(history))
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": lines}]})
    buttons = _buttons(incident)
    if buttons:
        blocks.append({"type": "actions", "block_id": f"incident:{incident.pk}", "elements": buttons})
    return blocks
