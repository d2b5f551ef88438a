"""The two staff roles, the API key scopes, and what each may do.

`Agent` works tickets, messages and calls, retries deliveries and acknowledges incidents,
but cannot touch settings (schedules, policies, SLA targets, API keys). `Admin` may do
everything. Groups are created by a data migration and kept complete after every
migrate (models added by later migrations get their permissions too).

A staff session may do in /v1 what the admin lets the same user do (`session_allows` asks
the model's ModelAdmin). An API key may do what its scope allows (`scope_allows`): the
`agent` scope is the Agent role's permissions, `admin` everything, `read-only` every view,
`intake-only` nothing but the intake endpoint (a website form's key).
"""

from typing import Any

from django.db import models
from django.http import HttpRequest

AGENT = "Agent"
ADMIN = "Admin"

# "app_label.model": actions an agent may take.
AGENT_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "tickets.ticket": ("view", "add", "change"),
    "tickets.message": ("view", "add"),
    "tickets.attachment": ("view", "add"),
    "tickets.contact": ("view", "add", "change"),
    "tickets.ticketchange": ("view",),
    "tickets.cannedreply": ("view",),
    "tickets.macro": ("view",),
    "tickets.agentshift": ("view", "change"),
    "tickets.slapolicy": ("view",),
    "telephony.calllog": ("view",),
    "notifications.delivery": ("view", "change"),
    "escalation.incident": ("view", "change"),
    "escalation.incidentevent": ("view",),
    "escalation.incidentpage": ("view",),
    "escalation.schedule": ("view",),
    "escalation.rotationlayer": ("view",),
    "escalation.override": ("view",),
    "escalation.escalationpolicy": ("view",),
    "escalation.escalationstep": ("view",),
    "escalation.businesscalendar": ("view",),
}


def sync_roles(apps: Any = None, **kwargs: Any) -> None:
    """Create the groups if needed and set their permissions (idempotent)."""
    from django.apps import apps as global_apps
    from django.contrib.auth.management import create_permissions

    registry = apps or global_apps
    # Permissions are normally created one app at a time after migrate; make them all
    # first so that both groups see every model, on a fresh database too.
    for app_config in registry.get_app_configs():
        had_models = getattr(app_config, "models_module", None)
        app_config.models_module = had_models or True
        create_permissions(app_config, apps=registry, verbosity=0)
        app_config.models_module = had_models
    Group = registry.get_model("auth", "Group")
    Permission = registry.get_model("auth", "Permission")

    agent, _ = Group.objects.get_or_create(name=AGENT)
    codenames = [
        (model.split(".")[0], f"{action}_{model.split('.')[1]}")
        for model, actions in AGENT_PERMISSIONS.items()
        for action in actions
    ]
    wanted = [
        perm
        for perm in Permission.objects.select_related("content_type")
        if (perm.content_type.app_label, perm.codename) in codenames
    ]
    agent.permissions.set(wanted)

    admin, _ = Group.objects.get_or_create(name=ADMIN)
    admin.permissions.set(Permission.objects.all())


class KeyScope(models.TextChoices):
    INTAKE = "intake-only", "Intake only (POST /v1/support/request, e.g. a website form)"
    READ_ONLY = "read-only", "Read only (every GET)"
    AGENT = "agent", "Agent (what the Agent role may do)"
    ADMIN = "admin", "Admin (everything)"


# What a /v1 request does to its model, in the admin's words.
VIEW, ADD, CHANGE, DELETE = "view", "add", "change", "delete"


def scope_allows(scope: str | None, *, model: type[models.Model], action: str, intake: bool = False) -> bool:
    """Whether an API key with `scope` may `action` on `model`; `intake` marks the intake
    endpoint, the only one an intake-only key may call. A key with no scope may do nothing."""
    if scope == KeyScope.ADMIN:
        return True
    if scope == KeyScope.INTAKE:
        return intake
    if scope == KeyScope.READ_ONLY:
        return action == VIEW
    if scope == KeyScope.AGENT:
        return action in AGENT_PERMISSIONS.get(model._meta.label_lower, ())
    return False


def session_allows(request: HttpRequest, *, model: type[models.Model], action: str) -> bool:
    """Whether the logged-in user may `action` on `model`: the admin's own answer (its
    ModelAdmin's has_<action>_permission), or the user's model permission where the model
    has no admin page of its own."""
    from django.contrib import admin
    from django.contrib.admin.exceptions import NotRegistered

    try:
        model_admin = admin.site.get_model_admin(model)
    except NotRegistered:
        return request.user.has_perm(f"{model._meta.app_label}.{action}_{model._meta.model_name}")
    return bool(getattr(model_admin, f"has_{action}_permission")(request))


def is_agent(user: Any) -> bool:
    """Whether `user` works in the console as an agent: in the Agent group, not a superuser."""
    return not user.is_superuser and user.groups.filter(name=AGENT).exists()


def is_lead(user: Any) -> bool:
    """Whether `user` may read the lead's reports: a superuser or a member of the Admin group."""
    return bool(user.is_superuser or user.groups.filter(name=ADMIN).exists())
