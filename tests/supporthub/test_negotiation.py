"""The short-cut content negotiation picks what DRF's own negotiation picks, or refuses alike."""

import pytest
from django.http import Http404
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from supporthub.api.negotiation import ContentNegotiation
from supporthub.api.renderers import ORJSONRenderer

ACCEPTS = [
    None,
    "*/*",
    "application/json",
    "text/html",
    "application/json; indent=4",
    "*/*;q=0.8",
    "text/html, application/json;q=0.9",
    "application/xml",
]


def negotiate(negotiation, accept, query="", format_suffix=None, renderers=None):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(APIRequestFactory().get(f"/v1/tickets{query}", **headers))
    renderers = renderers or [ORJSONRenderer(), BrowsableAPIRenderer()]
    try:
        renderer, media_type = negotiation.select_renderer(request, renderers, format_suffix)
    except NotAcceptable:
        return "406"
    except Http404:
        return "404"
    return type(renderer), media_type


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("query", ["", "?format=api", "?format=json", "?format=xml"])
@pytest.mark.parametrize("production", [True, False], ids=["json only", "json and browsable"])
def test_same_choice_as_drf(accept, query, production):
    renderers = [ORJSONRenderer()] if production else None
    ours = negotiate(ContentNegotiation(), accept, query, renderers=renderers)
    assert ours == negotiate(DefaultContentNegotiation(), accept, query, renderers=renderers)


def test_a_format_suffix_is_negotiated_by_drf():
    assert negotiate(ContentNegotiation(), None, format_suffix="api")[0] is BrowsableAPIRenderer
    assert negotiate(ContentNegotiation(), None)[0] is ORJSONRenderer
