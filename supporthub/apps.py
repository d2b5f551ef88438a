from django.apps import AppConfig


class SupportHubConfig(AppConfig):
    name = "supporthub"
    verbose_name = "SupportHub"

    def ready(self) -> None:
        # ops (issue 7): tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set. Runs before the
        # WSGI handler loads MIDDLEWARE, so the Django instrumentation's middleware is in.
        from supporthub.observability import init_tracing

        init_tracing()
