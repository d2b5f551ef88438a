"""SupportHub: the support back end of a 24/7 service."""

from .celery import app as celery_app

# The one place the version lives; APP_VERSION in the environment overrides it.
__version__ = "0.1.0"

__all__ = ("__version__", "celery_app")
