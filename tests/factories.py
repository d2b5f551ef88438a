"""factory_boy factories for the test personas and data."""

import factory
from django.contrib.auth import get_user_model

from supporthub.roles import KeyScope
from supporthub.services import api_key_create
from tickets.models import Contact, Message, MessageDirection, Ticket, TicketChannel, TicketPriority
from tickets.search import search_vector_update


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"agent{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@support.example")
    first_name = factory.Faker("first_name")
    is_staff = True
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery staple")

    @classmethod
    def _after_postgeneration(cls, instance, create, results=None):  # type: ignore[no-untyped-def]
        if create:
            instance.save()


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    name = factory.Faker("name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    phone = None


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket
        skip_postgeneration_save = True

    reference = factory.Sequence(lambda n: f"SH-{5000 + n}")
    subject = factory.Faker("sentence", nb_words=5)
    description = factory.Faker("paragraph")
    channel = TicketChannel.EMAIL
    priority = TicketPriority.NORMAL
    contact = factory.SubFactory(ContactFactory)

    @factory.post_generation
    def search_vector(ticket, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        """Searchable as a ticket the services wrote (tickets.search)."""
        if create:
            Ticket.objects.filter(pk=ticket.pk).update(**search_vector_update(ticket))


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message
        skip_postgeneration_save = True

    ticket = factory.SubFactory(TicketFactory)
    direction = MessageDirection.INBOUND
    channel = "email"
    body = factory.Faker("paragraph")

    @factory.post_generation
    def search_vector(message, create, extracted, **kwargs):  # type: ignore[no-untyped-def]
        """Its ticket searchable by it, as message_create makes it (tickets.search)."""
        if create:
            ticket = Ticket.objects.get(pk=message.ticket_id)
            Ticket.objects.filter(pk=ticket.pk).update(**search_vector_update(ticket))


def make_api_key(name: str = "tests", scope: str = KeyScope.ADMIN) -> str:
    """Create a stored (hashed) API key with `scope` and return the raw key."""
    _, raw = api_key_create(name=name, scope=scope)
    return raw
