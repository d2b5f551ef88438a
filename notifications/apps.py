from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from anymail.signals import inbound

        from notifications.signals import receive_inbound_email

        inbound.connect(receive_inbound_email, dispatch_uid="notifications.inbound_email")
