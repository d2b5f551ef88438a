"""The webhook rate limit counts refusals per client address, never the providers' own requests.

A surge of real calls must not turn into 429s for Twilio (its callers would hear an
error), so signed requests are not counted; requests refused for their signature or
credentials are, and an address over its budget is refused before the view runs.
"""

import base64

import pytest
from django.test import Client

from supporthub import ratelimits
from supporthub.ratelimits import BlockedAddresses
from tests.ops.conftest import rate_limits_on, unique_ip  # noqa: F401 - the fixture
from tests.telephony.conftest import CALLER, SUPPORT_LINE, FakeTwilio, sid
from tickets.models import Message

pytestmark = pytest.mark.django_db


def caller_at(address: str) -> FakeTwilio:
    return FakeTwilio(Client(REMOTE_ADDR=address))


def sms(twilio: FakeTwilio, **kwargs: str):
    params = {"MessageSid": sid("SM"), "From": CALLER, "To": SUPPORT_LINE, "Body": "hi"}
    return twilio.post("/webhooks/twilio/sms", params, **kwargs)


def test_signed_requests_are_never_throttled_nor_counted(rate_limits_on):  # noqa: F811
    rate_limits_on.RATELIMIT_WEBHOOKS_IP = "1/m"
    twilio = caller_at(unique_ip())

    assert [sms(twilio).status_code for _ in range(4)] == [200] * 4
    # The budget of one refusal is still whole: the signed requests did not use it.
    assert sms(twilio, signature="forged").status_code == 403
    assert sms(twilio, signature="forged").status_code == 429


def test_an_address_over_its_refusal_budget_is_refused_before_the_view_runs(rate_limits_on):  # noqa: F811
    rate_limits_on.RATELIMIT_WEBHOOKS_IP = "2/m"
    prober = caller_at(unique_ip())
    assert [sms(prober, signature="forged").status_code for _ in range(3)] == [403, 403, 429]
    messages = Message.objects.count()

    blocked = sms(prober)  # correctly signed, but from the address over its budget

    assert blocked.status_code == 429
    assert blocked.json()["code"] == "throttled"
    assert 1 <= int(blocked["Retry-After"]) <= 60
    assert Message.objects.count() == messages  # the view did not run
    assert sms(caller_at(unique_ip())).status_code == 200  # another address is not affected


def test_bad_inbound_email_credentials_count_too(rate_limits_on):  # noqa: F811
    rate_limits_on.RATELIMIT_WEBHOOKS_IP = "1/m"
    rate_limits_on.ANYMAIL = {"WEBHOOK_SECRET": "inbound:s3cret-pass"}
    wrong = "Basic " + base64.b64encode(b"inbound:guess").decode()
    client = Client(REMOTE_ADDR=unique_ip())

    def attempt() -> int:
        response = client.post(
            "/webhooks/email/postmark/inbound/",
            "{}",
            content_type="application/json",
            HTTP_AUTHORIZATION=wrong,
        )
        return response.status_code

    assert [attempt(), attempt()] == [403, 429]


def test_blocked_addresses_expire_and_stay_bounded(monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(ratelimits.time, "monotonic", lambda: now[0])
    monkeypatch.setattr(BlockedAddresses, "MAX", 3)
    blocks = BlockedAddresses()

    blocks.block("a", 30)
    assert blocks.seconds_left("a") == 30
    assert blocks.seconds_left("b") is None
    now[0] += 29.6
    assert blocks.seconds_left("a") == 1  # rounded up to a whole second for Retry-After
    now[0] += 1
    assert blocks.seconds_left("a") is None

    blocks.block("b", 60)
    blocks.block("c", 60)
    blocks.block("d", 60)  # full: the expired "a" makes room
    assert [blocks.seconds_left(x) for x in "bcd"] == [60, 60, 60]
    blocks.block("e", 60)  # full of live entries: the oldest goes
    assert blocks.seconds_left("b") is None
    assert [blocks.seconds_left(x) for x in "cde"] == [60, 60, 60]
