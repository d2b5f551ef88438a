"""What every page agents work on has in common."""

from typing import Any

from django.contrib import admin
from django.contrib.admin import helpers
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from supporthub.roles import is_agent


class AgentConsoleAdmin(admin.ModelAdmin):
    """Agents take work one item at a time: their forms have no "Save and add another".
    Delete is already theirs only with a delete permission, which the Agent role lacks."""

    def action_checkbox(self, obj: Any) -> str:
        """A row's selection checkbox, the markup Django's own draws (tests/tickets/
        test_console.py compares them), without rendering a form widget's templates for each
        row: that took a fifth of a 50-ticket list's time."""
        return format_html(
            '<input type="checkbox" name="{}" value="{}" class="action-select" aria-label="{}">',
            helpers.ACTION_CHECKBOX_NAME,
            obj.pk,
            format_html(_("Select this object for an action - {}"), str(obj)),
        )

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        if is_agent(request.user):
            context["show_save_and_add_another"] = False
        return super().render_change_form(
            request, context, add=add, change=change, form_url=form_url, obj=obj
        )
