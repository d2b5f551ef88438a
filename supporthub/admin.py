"""Admin for API keys (create with a scope: the key is shown once; list with scope and last
use; revoke; expire), and the inline base the other apps' consoles use."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import F, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey

from supporthub.models import APIKeyScope
from supporthub.services import api_key_revoke


class SharedChoicesTabularInline(admin.TabularInline):
    """An inline whose rows share their select boxes' choices: each foreign key's choices are
    read once per page, not once per row (every form would otherwise run its own query)."""

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if field is not None and db_field.name not in (*self.raw_id_fields, *self.autocomplete_fields):
            field.choices = list(field.choices)  # type: ignore[arg-type]
        return field


class KeyStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("active", "Active"), ("revoked", "Revoked"), ("expired", "Expired")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> QuerySet[APIKey]:
        now = timezone.now()
        if self.value() == "active":
            return queryset.filter(revoked=False).filter(Q(expiry_date__isnull=True) | Q(expiry_date__gt=now))
        if self.value() == "revoked":
            return queryset.filter(revoked=True)
        if self.value() == "expired":
            return queryset.filter(expiry_date__lte=now)
        return queryset


class APIKeyScopeInline(admin.StackedInline):
    model = APIKeyScope
    can_delete = False
    min_num = max_num = 1
    verbose_name = verbose_name_plural = "Scope (what the key may do)"


admin.site.unregister(APIKey)


@admin.register(APIKey)
class APIKeyAdmin(APIKeyModelAdmin):
    # The library annotates these as fixed-length tuples; ours are longer on purpose.
    list_display = (
        "prefix",
        "name",
        "scope",
        "created",
        "expiry_date",
        "_has_expired",
        "revoked",
        "last_used",
    )  # type: ignore[assignment]
    list_filter = (KeyStateFilter, "access__scope", "created")  # type: ignore[assignment]
    inlines = [APIKeyScopeInline]
    actions = ["revoke_selected"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[APIKey]:
        return (
            super()
            .get_queryset(request)
            .annotate(last_used_at=F("usage__last_used_at"))
            .select_related("access")
        )

    @admin.display(description="Scope", ordering="access__scope")
    def scope(self, obj: APIKey) -> str:
        access = getattr(obj, "access", None)
        return access.get_scope_display() if access else "none (may do nothing)"

    @admin.display(description="Last used", ordering="last_used_at")
    def last_used(self, obj: APIKey) -> object:
        return getattr(obj, "last_used_at", None) or "never"

    @admin.action(description="Revoke selected API keys (they stop working at once)")
    def revoke_selected(self, request: HttpRequest, queryset: QuerySet[APIKey]) -> None:
        count = api_key_revoke(key_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"Revoked {count} API key(s).")
