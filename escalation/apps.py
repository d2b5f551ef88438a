import contextlib
from typing import Any

from django.apps import AppConfig


class EscalationConfig(AppConfig):
    name = "escalation"
    verbose_name = "On-call and escalation"

    def ready(self) -> None:
        from prometheus_client import REGISTRY

        from escalation.metrics import COLLECTOR

        # ValueError: already registered (ready() can run twice in some test runners).
        with contextlib.suppress(ValueError):
            REGISTRY.register(COLLECTOR)

        _connect_phone_chain_invalidation()


def _invalidate_phone_chain(sender: Any, update_fields: Any = None, **kwargs: Any) -> None:
    """Any change to what the phone chain reads drops the cached chain.

    At once (so the change's own transaction sees it) and again on commit (a chain another
    call computed from the old data while the change was uncommitted is dropped too).
    """
    from django.db import transaction

    from escalation.selectors import phone_chain_invalidate

    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # a login changes nothing about who is on call
    phone_chain_invalidate()
    transaction.on_commit(phone_chain_invalidate)


def _connect_phone_chain_invalidation() -> None:
    from django.conf import settings
    from django.db.models.signals import post_delete, post_save

    from escalation.models import (
        ContactMethod,
        EscalationPolicy,
        EscalationStep,
        LayerParticipant,
        Override,
        RotationLayer,
        Schedule,
    )

    models: list[Any] = [Schedule, RotationLayer, LayerParticipant, Override, ContactMethod]
    models += [EscalationPolicy, EscalationStep, settings.AUTH_USER_MODEL]
    for model in models:
        for signal in (post_save, post_delete):
            uid = f"phone-chain-{id(signal)}-{model}"
            signal.connect(_invalidate_phone_chain, sender=model, dispatch_uid=uid)
