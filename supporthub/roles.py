"""The two staff roles and what each may do in the console.

`Agent` works tickets, messages and calls, retries deliveries and acknowledges incidents,
but cannot touch settings (schedules, policies, SLA targets, API keys). `Admin` may do
everything. Groups are created by a data migration and kept complete after every
migrate (models added by later migrations get their permissions too).
"""

from typing import Any

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
