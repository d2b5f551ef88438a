"""supporthub.api.filtering.FilterSet: the form class is built once, the forms stay per request."""

import pytest
from django.http import QueryDict
from django_filters import rest_framework as filters

from supporthub.api.filtering import _FORM_CLASSES, FilterSet
from telephony.filters import CallLogFilter
from tickets.filters import MessageFilter, TicketFilter
from tickets.models import Ticket


@pytest.mark.parametrize("filterset_class", [TicketFilter, MessageFilter, CallLogFilter])
def test_every_request_shares_the_form_class_but_not_its_fields(filterset_class):
    first = filterset_class(QueryDict("ticket=0&status=nope"))
    second = filterset_class(QueryDict(""))

    assert type(first.form) is type(second.form)
    for name, field in first.form.fields.items():
        assert second.form.fields[name] is not field


@pytest.mark.parametrize("filterset_class", [TicketFilter, MessageFilter, CallLogFilter])
def test_building_the_form_class_leaves_the_class_filters_bare(filterset_class):
    """Each request deep-copies the class's filters: a field cached on them would be copied too."""
    _FORM_CLASSES.pop(filterset_class, None)
    before = {name for name, f in filterset_class.base_filters.items() if hasattr(f, "_field")}

    form = filterset_class(QueryDict("")).form

    assert _FORM_CLASSES[filterset_class] is type(form)
    assert {name for name, f in filterset_class.base_filters.items() if hasattr(f, "_field")} == before


@pytest.mark.django_db
def test_one_requests_errors_do_not_reach_the_next():
    bad = TicketFilter(QueryDict("status=nope&priority=urgent"), queryset=Ticket.objects.all())
    assert not bad.is_valid()
    assert set(bad.errors) == {"status"}

    good = TicketFilter(QueryDict("status=open&priority=urgent"), queryset=Ticket.objects.all())
    assert good.is_valid(), good.errors
    assert good.form.cleaned_data["status"] == ["open"]
    assert good.form.cleaned_data["priority"] == ["urgent"]


def test_a_filter_whose_field_depends_on_the_request_is_refused():
    class ByTicket(FilterSet):
        ticket = filters.ModelChoiceFilter(queryset=Ticket.objects.all())

        class Meta:
            model = Ticket
            fields = ["ticket"]

    filterset = ByTicket(QueryDict("ticket=1"), queryset=Ticket.objects.none())
    with pytest.raises(TypeError, match=r"ByTicket\.ticket: ModelChoiceFilter builds its field per request"):
        filterset.is_valid()
