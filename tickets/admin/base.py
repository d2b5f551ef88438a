"""What every page agents work on has in common."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from supporthub.roles import is_agent


class AgentConsoleAdmin(admin.ModelAdmin):
    """Agents take work one item at a time: their forms have no "Save and add another".
    Delete is already theirs only with a delete permission, which the Agent role lacks."""

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
