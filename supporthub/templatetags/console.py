from typing import Any

from django import template

from supporthub.dashboard import dashboard_summary

register = template.Library()


@register.inclusion_tag("admin/console_dashboard.html")
def console_dashboard() -> dict[str, Any]:
    return dashboard_summary()
