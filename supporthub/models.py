"""Project-level models: bookkeeping that belongs to no single app."""

from django.db import models

from supporthub.roles import KeyScope


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


class APIKeyScope(models.Model):
    """What an API key may do (supporthub.roles.scope_allows), set in the admin with the key.

    A side table, like APIKeyUsage. A key without a row may do nothing.
    """

    key = models.OneToOneField(
        "rest_framework_api_key.APIKey",
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="access",
    )
    scope = models.CharField(max_length=16, choices=KeyScope.choices)

    class Meta:
        verbose_name = "API key scope"

    def __str__(self) -> str:
        return self.get_scope_display()


class IdempotencyKey(models.Model):
    """A client's `Idempotency-Key` on a write: claimed before the work runs (the unique
    constraint decides between concurrent requests), holding the first response after.

    `response_status` is null while the first request is in flight. Rows older than
    IDEMPOTENCY_KEY_TTL_SECONDS are ignored and purged by a beat task.
    """

    scope = models.CharField(max_length=200, help_text="Whose key: an API key or a user.")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_key_unique_in_scope")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_key_created")]

    def __str__(self) -> str:
        return f"{self.scope} {self.key}"
