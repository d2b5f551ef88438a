"""Project-level models: bookkeeping that belongs to no single app."""

from django.db import models


class APIKeyUsage(models.Model):
    """When an API key (djangorestframework-api-key) was last used.

    A side table rather than a custom key model, so the library's APIKey stays the one
    model every app and test uses. Written at most once a minute per key.
    """

    key = models.OneToOneField(
        "rest_framework_api_key.APIKey",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="usage",
    )
    last_used_at = models.DateTimeField()

    class Meta:
        verbose_name = "API key usage"

    def __str__(self) -> str:
        return f"{self.key_id} last used {self.last_used_at:%Y-%m-%d %H:%M}"
