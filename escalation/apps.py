import contextlib

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
