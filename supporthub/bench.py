"""The benchmark's ceiling: a bare view behind the full middleware stack (BENCH_ENDPOINTS only)."""

from django.http import HttpRequest, HttpResponse


def hello(request: HttpRequest) -> HttpResponse:
    return HttpResponse(b"hello", content_type="text/plain")
