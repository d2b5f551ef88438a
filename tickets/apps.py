from typing import Any

from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "tickets"

    def ready(self) -> None:
        _connect_sla_targets_invalidation()
        _connect_attachment_file_deletion()


def _invalidate_sla_targets(sender: Any, **kwargs: Any) -> None:
    """A change to a policy or its calendar makes the next ticket read the SLA targets again:
    at once, and again on commit (targets read while the change was uncommitted are dropped)."""
    from django.db import transaction

    from tickets.sla import sla_targets_invalidate

    sla_targets_invalidate()
    transaction.on_commit(sla_targets_invalidate)


def _connect_sla_targets_invalidation() -> None:
    from django.db.models.signals import post_delete, post_save

    from escalation.models import BusinessCalendar, BusinessHours, Holiday
    from tickets.models import SlaPolicy

    for model in (SlaPolicy, BusinessCalendar, BusinessHours, Holiday):
        for signal in (post_save, post_delete):
            uid = f"sla-targets-{id(signal)}-{model}"
            signal.connect(_invalidate_sla_targets, sender=model, dispatch_uid=uid)


def _delete_attachment_file(sender: Any, instance: Any, **kwargs: Any) -> None:
    from tickets.attachments import attachment_file_delete_on_commit

    attachment_file_delete_on_commit(instance)


def _connect_attachment_file_deletion() -> None:
    """An attachment row deleted in any way (its ticket deleted, the purge) takes its file."""
    from django.db.models.signals import post_delete

    from tickets.models import Attachment

    post_delete.connect(_delete_attachment_file, sender=Attachment, dispatch_uid="attachment-file-delete")
