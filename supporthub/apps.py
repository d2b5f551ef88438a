from django.apps import AppConfig


class SupportHubConfig(AppConfig):
    name = "supporthub"
    verbose_name = "SupportHub"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        # Keep the roles complete when later migrations add models.
        post_migrate.connect(_sync_roles_after_migrate, sender=self, dispatch_uid="supporthub.sync_roles")

        from django.db.backends.signals import connection_created

        from supporthub.reports import sqlite_percentile_register

        # The reports' medians use PERCENTILE_CONT, which SQLite lacks.
        connection_created.connect(sqlite_percentile_register, dispatch_uid="supporthub.sqlite_percentile")

        # tracing when OTEL_EXPORTER_OTLP_ENDPOINT is set. Runs before the
        # WSGI handler loads MIDDLEWARE, so the Django instrumentation's middleware is in.
        from supporthub import checks  # noqa: F401 - registers the deploy checks
        from supporthub.observability import init_tracing

        init_tracing()


def _sync_roles_after_migrate(sender: AppConfig, **kwargs: object) -> None:
    from supporthub.roles import sync_roles

    sync_roles()
