"""The orjson renderer gives the same bytes as DRF's JSONRenderer."""

import datetime
import decimal
import uuid

import pytest
from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from supporthub.api.renderers import ORJSONRenderer


class Label(str):
    pass


@pytest.mark.parametrize(
    "data",
    [
        {"count": 2, "next": None, "results": [{"id": 1, "subject": "Ünïcode ✓ \u2028 \u2029", "ok": True}]},
        [1, 2.5, -0.0, 2**62, 'a"b\\c\n', None, False],
        {"at": datetime.datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=datetime.UTC)},
        {"at": datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.timezone(datetime.timedelta(hours=2)))},
        {
            "day": datetime.date(2026, 1, 2),
            "time": datetime.time(3, 4),
            "span": datetime.timedelta(minutes=5),
        },
        {"lazy": gettext_lazy("This field is required."), "sub": Label("x"), "id": uuid.UUID(int=7)},
        {"amount": decimal.Decimal("12.50"), 3: "int key"},
        {"errors": {"contact.email": ["Enter a valid email address."]}},
    ],
)
def test_same_bytes_as_drf(data):
    assert ORJSONRenderer().render(data) == JSONRenderer().render(data)


def test_no_data_is_an_empty_body():
    assert ORJSONRenderer().render(None) == JSONRenderer().render(None) == b""
