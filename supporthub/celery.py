"""The Celery application; configuration comes from Django settings (CELERY_*)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supporthub.settings")

app = Celery("supporthub")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# request id into tasks, project logging in workers, task metrics.
from supporthub import celery_signals  # noqa: E402,F401
