from typing import Any

from django import template

from supporthub.dashboard import dashboard_summary
from supporthub.roles import is_lead

register = template.Library()


@register.inclusion_tag("admin/console_dashboard.html")
def console_dashboard() -> dict[str, Any]:
    return dashboard_summary()


@register.simple_tag(takes_context=True)
def sees_reports(context: dict[str, Any]) -> bool:
    return is_lead(context["request"].user)
