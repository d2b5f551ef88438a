"""The API key and user consoles: SQL statements do not grow with the rows shown."""

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone
from rest_framework_api_key.models import APIKey

from supporthub.models import APIKeyUsage
from tests.factories import UserFactory, make_api_key
from tests.query_counts import assert_constant

pytestmark = pytest.mark.django_db


def _used_key(i: int) -> None:
    make_api_key(f"key {i}")
    key = APIKey.objects.get(name=f"key {i}")
    APIKeyUsage.objects.create(key=key, last_used_at=timezone.now())


@pytest.mark.parametrize(
    ("url", "add"),
    [
        ("/admin/rest_framework_api_key/apikey/", _used_key),
        ("/admin/auth/user/", lambda i: UserFactory(username=f"user{i}")),
        ("/admin/auth/group/", lambda i: Group.objects.create(name=f"Group {i}")),
    ],
)
def test_each_changelist_is_constant_in_rows(admin_client, url, add):
    assert_constant(admin_client, url, add)
