"""Saved views of the ticket list: personal ones, shared ones (admins share), defaults."""

import pytest
from django.contrib.auth.models import Group

from supporthub.roles import AGENT, sync_roles
from tests.factories import TicketFactory, UserFactory
from tickets.models import SavedView, TicketPriority

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/tickets/ticket/"
SAVE = f"{CHANGELIST}views/save/"


def as_agent(client, username: str):
    sync_roles()
    user = UserFactory(username=username)
    user.groups.add(Group.objects.get(name=AGENT))
    client.force_login(user)
    return user


def bar(client) -> str:
    page = client.get(CHANGELIST).content.decode()
    return page[
        page.index('<nav class="saved-views"') : page.index("</nav>", page.index('<nav class="saved-views"'))
    ]


def test_a_fresh_install_shares_my_tickets_unassigned_urgent_and_breached(client):
    as_agent(client, "alice")
    assert dict(SavedView.objects.filter(owner=None).values_list("name", "query")) == {
        "My active tickets": "assignee=mine",
        "Unassigned urgent": "assignee=none&priority__exact=4",
        "SLA breached": "sla=breached",
    }
    assert 'href="?assignee=none&amp;priority__exact=4">Unassigned urgent</a>' in bar(client)


def test_an_agent_saves_the_current_filters_as_a_personal_view(client):
    alice = as_agent(client, "alice")
    TicketFactory(subject="urgent one", priority=TicketPriority.URGENT)
    TicketFactory(subject="plain one")
    response = client.post(SAVE, {"name": " Urgent ", "query": "priority__exact=4&p=3"})
    assert response["Location"] == f"{CHANGELIST}?priority__exact=4"  # the page number is not kept
    view = SavedView.objects.get(name="Urgent")
    assert (view.owner, view.query) == (alice, "priority__exact=4")
    page = client.get(f"{CHANGELIST}?{view.query}").content.decode()
    assert "urgent one" in page and "plain one" not in page
    assert ">Urgent</a>" in bar(client)

    as_agent(client, "bob")
    assert ">Urgent</a>" not in bar(client)  # personal: Bob does not see it


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"name": "Everything", "query": "p=2"}, "Filter, search or sort the list first"),
        ({"name": "   ", "query": "sla=breached"}, "Give the view a name"),
        ({"name": "SLA breached", "query": "sla=breached", "shared": "on"}, "Only admins share views"),
    ],
)
def test_a_view_that_cannot_be_saved_says_why_and_saves_nothing(client, data, problem):
    as_agent(client, "alice")
    before = SavedView.objects.count()
    page = client.post(SAVE, data, follow=True).content.decode()
    assert problem in page
    assert SavedView.objects.count() == before


def test_a_name_is_taken_once_per_person_and_once_among_shared_views(client):
    as_agent(client, "alice")
    client.post(SAVE, {"name": "Mine", "query": "assignee=mine"})
    page = client.post(SAVE, {"name": "Mine", "query": "sla=ok"}, follow=True).content.decode()
    assert "There is a view named “Mine” already." in page
    client.force_login(UserFactory(username="lead", is_superuser=True))
    client.post(SAVE, {"name": "Mine", "query": "sla=ok", "shared": "on"})  # another owner: fine
    page = client.post(
        SAVE, {"name": "Mine", "query": "sla=ok", "shared": "on"}, follow=True
    ).content.decode()
    assert "There is a view named “Mine” already." in page
    assert SavedView.objects.filter(name="Mine").count() == 2


def test_admins_share_views_and_only_owners_or_admins_delete_them(client):
    client.force_login(UserFactory(username="lead", is_superuser=True))
    client.post(SAVE, {"name": "Refunds", "query": "tag=refund", "shared": "on"})
    shared = SavedView.objects.get(name="Refunds", owner=None)

    alice = as_agent(client, "alice")
    assert ">Refunds</a>" in bar(client)
    assert f"views/{shared.pk}/delete/" not in bar(client)
    assert client.post(f"{CHANGELIST}views/{shared.pk}/delete/").status_code == 403
    client.post(SAVE, {"name": "Alice's", "query": "assignee=mine"})
    own = SavedView.objects.get(owner=alice)

    as_agent(client, "bob")
    assert client.post(f"{CHANGELIST}views/{own.pk}/delete/").status_code == 404  # not even listed
    assert client.get(f"{CHANGELIST}views/{own.pk}/delete/").status_code == 405

    client.force_login(alice)
    assert client.post(f"{CHANGELIST}views/{own.pk}/delete/").status_code == 302
    client.force_login(UserFactory(username="lead", is_superuser=True))
    assert client.post(f"{CHANGELIST}views/{shared.pk}/delete/").status_code == 302
    assert not SavedView.objects.filter(pk__in=[own.pk, shared.pk]).exists()
