"""The outcome of an inbound call, decided once from all of its callbacks, and what follows.

Twilio posts a call's callbacks (the call's own status, each forwarded leg's status, the
Dial action, the recording and the transcription) in no guaranteed order, and retries them.
Each callback only records its fact on the CallLog rows, then calls `outcome_settle`: under
the inbound call's row lock, `decide` says whether the facts so far settle the outcome, and
the first time they do the outcome is stored and what follows from it is written in the same
transaction: the "answered" note, or the missed-call note, team notification and incident.
While a callback still to come could make the call an answered one (a Dial whose action has
not reported), the call stays undecided, so a hang-up that overtakes the Dial action books
nothing. A Dial action that never comes (the caller hung up during the greeting) is given up
on by the beat sweep, TELEPHONY_OUTCOME_GRACE_SECONDS after the call ended.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from notifications import builders
from telephony import oncall
from telephony.booking import WITHHELD, call_ticket, message_once
from telephony.models import FINAL_STATUSES, CallDirection, CallLog, CallOutcome
from tickets.models import MessageDirection

logger = logging.getLogger(__name__)

ANSWERED_DIAL_STATUSES = frozenset({"completed", "answered"})
HUNG_UP = "The caller hung up before anyone answered."


@dataclass(frozen=True)
class Decision:
    outcome: str
    answered_by: str = ""  # the number that answered
    missed_because: str = ""  # a missed call (voicemail, abandoned): why, for the note


def decide(call: CallLog, *, answered_leg_to: str | None, dial_lost: bool = False) -> Decision | None:
    """The outcome that the facts stored on inbound `call` settle; None while a callback still
    to come could change it.

    `answered_leg_to`: the number of the first forwarded leg that was answered, None if none
    was. `dial_lost`: a Dial action still missing is not coming (see `calls_outcome_sweep`).
    """
    results = call.dial_results
    if answered_leg_to is not None:
        return Decision(CallOutcome.ANSWERED, answered_by=answered_leg_to)
    answered = sorted(int(attempt) for attempt, status in results.items() if status in ANSWERED_DIAL_STATUSES)
    if answered:
        number = call.dial_targets[answered[0]] if answered[0] < len(call.dial_targets) else ""
        return Decision(CallOutcome.ANSWERED, answered_by=number)
    if not call.dial_targets:
        return Decision(
            CallOutcome.VOICEMAIL,
            missed_because="Nobody could be rung (no one on call). The caller was offered voicemail.",
        )
    if "canceled" in results.values():
        return Decision(CallOutcome.ABANDONED, missed_because=HUNG_UP)
    last = str(len(call.dial_targets) - 1)
    if last in results:
        tried = ", ".join(call.dial_targets)
        because = f"Nobody answered ({results[last]}; rang {tried}). The caller was offered voicemail."
        return Decision(CallOutcome.VOICEMAIL, missed_because=because)
    if dial_lost and call.status in FINAL_STATUSES:
        return Decision(CallOutcome.ABANDONED, missed_because=HUNG_UP)
    return None


def outcome_settle(call: CallLog, *, dial_lost: bool = False) -> CallLog:
    """Decide inbound `call` if its facts settle it and it is undecided, and write what follows.

    `call` must be row-locked by the caller's transaction (every callback locks the inbound
    call first, then its legs, so concurrent callbacks never deadlock). Returns `call`.
    """
    if call.outcome or call.direction != CallDirection.INBOUND or call.parent_id is not None:
        return call
    leg = call.legs.filter(answered_at__isnull=False).order_by("answered_at", "pk").only("to_number").first()
    decision = decide(call, answered_leg_to=leg.to_number if leg else None, dial_lost=dial_lost)
    if decision is None:
        return call
    call.outcome = decision.outcome
    fields = ["outcome", "updated_at"]
    if decision.answered_by:
        call.forwarded_to = decision.answered_by
        fields.append("forwarded_to")
    call.save(update_fields=fields)
    if decision.outcome == CallOutcome.ANSWERED:
        message_once(
            ticket=call_ticket(call),
            key=f"{call.call_sid}:answered",
            body=f"Call answered by {decision.answered_by or 'the team'}.",
            direction=MessageDirection.NOTE,
        )
    else:
        _missed(call, decision.missed_because)
    logger.info("call %s decided: %s", call.call_sid, decision.outcome)
    return call


def call_outcome_settle(*, call_id: int, dial_lost: bool = False) -> CallLog:
    """`outcome_settle` for inbound call `call_id`, in a transaction of its own."""
    with transaction.atomic():
        return outcome_settle(CallLog.objects.select_for_update().get(pk=call_id), dial_lost=dial_lost)


def _missed(call: CallLog, reason: str) -> None:
    """Note the missed call on the ticket, tell the team and open an incident."""
    ticket = call_ticket(call)
    caller = call.from_number or WITHHELD
    note = message_once(
        ticket=ticket,
        key=f"{call.call_sid}:missed",
        body=f"Missed call from {caller}. {reason}",
        direction=MessageDirection.NOTE,
    )
    if note is None:
        return
    builders.ticket_notice(
        ticket=ticket,
        subject=f"Missed call from {caller} ({ticket.reference})",
        body=note.body,
        key=f"call:{call.call_sid}:missed",
        message=note,
    )
    oncall.missed_call_incident(ticket=ticket, call_sid=call.call_sid, reason=note.body)


def calls_outcome_sweep() -> int:
    """Decide the calls that ended TELEPHONY_OUTCOME_GRACE_SECONDS ago still undecided; how many.

    Their last Dial action is not coming: the caller hung up during the greeting or before
    the next number was dialled. Each is settled in a transaction of its own.
    """
    cutoff = timezone.now() - timedelta(seconds=settings.TELEPHONY_OUTCOME_GRACE_SECONDS)
    undecided = CallLog.objects.filter(
        direction=CallDirection.INBOUND,
        parent__isnull=True,
        outcome=CallOutcome.PENDING,
        status__in=FINAL_STATUSES,
        ended_at__lte=cutoff,
    ).values_list("pk", flat=True)
    decided = 0
    for call_id in list(undecided[:500]):
        try:
            decided += bool(call_outcome_settle(call_id=call_id, dial_lost=True).outcome)
        except Exception:
            logger.exception("call %s: deciding its outcome failed; the next sweep tries again", call_id)
    return decided
