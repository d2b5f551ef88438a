"""The reports page of the console (/admin/reports/): a period and time zone form, charts,
tables and a CSV download of each table. The figures come from supporthub.reports."""

import csv
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo, available_timezones

from django import forms
from django.conf import settings
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.safestring import SafeString

from supporthub import charts
from supporthub.reports import Period, Table, report_build
from supporthub.roles import is_lead

DEFAULT_DAYS = 28
MAX_DAYS = 366


class ReportForm(forms.Form):
    first = forms.DateField(label="From", widget=forms.DateInput(attrs={"type": "date"}))
    last = forms.DateField(label="To", widget=forms.DateInput(attrs={"type": "date"}))
    zone = forms.ChoiceField(
        label="Time zone", choices=[(name, name) for name in sorted(available_timezones())]
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("first"), data.get("last")
        if first and last:
            if first > last:
                raise forms.ValidationError("'From' must not be after 'To'.")
            if (last - first).days >= MAX_DAYS:
                raise forms.ValidationError(f"Choose at most {MAX_DAYS} days.")
        return data

    @property
    def period(self) -> Period:
        data = self.cleaned_data
        return Period(first=data["first"], last=data["last"], zone=ZoneInfo(data["zone"]))

    @classmethod
    def defaults(cls) -> dict[str, Any]:
        """The last four weeks up to today, in the site's time zone."""
        zone = settings.TIME_ZONE
        today = timezone.localdate(timezone=ZoneInfo(zone))
        return {"first": today - timedelta(days=DEFAULT_DAYS - 1), "last": today, "zone": zone}


def reports_view(request: HttpRequest) -> HttpResponse:
    """The page, or with `export=<table>` that table as CSV. A bad period is a 400 that says why."""
    if not is_lead(request.user):
        raise PermissionDenied("The reports are for admins.")
    form = ReportForm(request.GET if "first" in request.GET else ReportForm.defaults())
    context: dict[str, Any] = {**admin.site.each_context(request), "title": "Reports", "form": form}
    if not form.is_valid():
        return TemplateResponse(request, "admin/reports.html", context, status=400)
    period = form.period
    tables = report_build(period=period, now=timezone.now())
    export = request.GET.get("export")
    if export is not None:
        if export not in tables:
            return HttpResponse(f"No report named {export!r}.", status=400, content_type="text/plain")
        return _csv(tables[export], period)
    chosen = {name: str(form.cleaned_data[name]) for name in ("first", "last", "zone")}
    context["sections"] = [
        {
            "table": table,
            "rows": [[_text(value) for value in row] for row in table.rows],
            "charts": _charts(table, period),
            "csv_url": "?" + urlencode({**chosen, "export": table.key}),
        }
        for table in tables.values()
    ]
    return TemplateResponse(request, "admin/reports.html", context)


def _csv(table: Table, period: Period) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    name = f"supporthub-{table.key}-{period.first}-{period.last}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    writer = csv.writer(response)
    writer.writerow(
        [
            f"{column} (minutes)" if _is_duration(table, i) else column
            for i, column in enumerate(table.columns)
        ]
    )
    for row in table.rows:
        writer.writerow([_minutes(value) if isinstance(value, timedelta) else _blank(value) for value in row])
    return response


def _is_duration(table: Table, column: int) -> bool:
    return any(isinstance(row[column], timedelta) for row in table.rows)


def _minutes(value: timedelta) -> str:
    return f"{value.total_seconds() / 60:.1f}"


def _blank(value: Any) -> Any:
    return "" if value is None else value


def _text(value: Any) -> str:
    """A cell as the page shows it: durations as "2 h 05 min", dates as ISO, nothing as "—"."""
    if value is None:
        return "—"
    if isinstance(value, timedelta):
        minutes = round(value.total_seconds() / 60)
        hours, minutes = divmod(minutes, 60)
        return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _charts(table: Table, period: Period) -> list[SafeString]:
    """The charts that go with a table (none for most)."""
    if table.key == "volume":
        days = [day.isoformat()[5:] for day in period.days]
        channels = sorted({row[1] for row in table.rows})
        per_day = [{channel: [0] * len(days) for channel in channels} for _ in range(2)]
        for day, channel, *counts in table.rows:
            for figure, count in zip(per_day, counts, strict=True):
                figure[channel][(day - period.first).days] = count
        return [
            charts.stacked_bars("Tickets received per day, by channel", days, per_day[0]),
            charts.stacked_bars("Tickets solved per day, by channel", days, per_day[1]),
        ]
    if table.key == "sla":
        labels = [f"{policy} {clock}" for policy, clock, *_ in table.rows]
        met = [row[2] for row in table.rows]
        breached = [row[3] for row in table.rows]
        return [
            charts.stacked_bars("SLA clocks met and breached", labels, {"met": met, "breached": breached})
        ]
    if table.key == "backlog":
        ages, counts = [row[0] for row in table.rows], [row[1] for row in table.rows]
        return [charts.stacked_bars("Active tickets by age", ages, {"tickets": counts})]
    if table.key == "oncall":
        weeks = sorted({row[0] for row in table.rows})
        people: dict[str, list[float]] = {row[1]: [0] * len(weeks) for row in table.rows}
        for week, person, pages, _ in table.rows:
            people[person][weeks.index(week)] = pages
        return [charts.stacked_bars("Pages per week, by person", [w.isoformat() for w in weeks], people)]
    return []
