"""Signal receivers: adapters from anymail's signal to our service, nothing more."""

from typing import Any

from anymail.signals import AnymailInboundEvent

from notifications.inbound import inbound_email_receive


def receive_inbound_email(sender: Any, event: AnymailInboundEvent, esp_name: str, **kwargs: Any) -> None:
    inbound_email_receive(email=event.message)
