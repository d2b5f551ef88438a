"""A URLconf with views that fail on purpose, for the no-leak tests."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

LEAKY_MESSAGE = "db password hunter2 leaked in exception text"


def boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(LEAKY_MESSAGE)


def form_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(str(len(request.POST)))


class BoomAPI(APIView):
    authentication_classes: list = []
    permission_classes: list = []

    def get(self, request: Request) -> Response:
        raise RuntimeError(LEAKY_MESSAGE)


urlpatterns = [
    path("boom", boom),
    path("v1/boom", BoomAPI.as_view()),
    path("form", form_view),
    path("", include("supporthub.urls")),
]

handler400 = "supporthub.api.errors.bad_request"
handler403 = "supporthub.api.errors.permission_denied"
handler404 = "supporthub.api.errors.not_found"
handler500 = "supporthub.api.errors.server_error"
