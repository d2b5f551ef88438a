from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from supporthub import health as health_views  # /health/live, /health/ready
from supporthub.api.errors import not_found
from supporthub.health import health
from supporthub.metrics_endpoint import metrics  # protected /metrics
from supporthub.reports_admin import reports_view
from tickets.api_attachments import attachment_link

handler400 = "supporthub.api.errors.bad_request"
handler403 = "supporthub.api.errors.permission_denied"
handler404 = "supporthub.api.errors.not_found"
handler500 = "supporthub.api.errors.server_error"

admin.site.site_header = "SupportHub"
admin.site.site_title = "SupportHub"
admin.site.index_title = "Agent console"

urlpatterns = [
    path("", health, name="root"),
    path("health", health, name="health"),
    path("health/live", health_views.live, name="health-live"),
    path("health/ready", health_views.ready, name="health-ready"),
    path("admin/reports/", admin.site.admin_view(reports_view), name="console-reports"),
    path("admin/", admin.site.urls),
    path("v1/schema", SpectacularAPIView.as_view(), name="schema"),
    # the split view serves Swagger UI's init script as a file, so CSP needs no inline script.
    path("docs", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="docs"),
    path("v1/", include("tickets.urls")),
    # short-lived signed links to attachments (sent in SMS replies)
    path("attachments/<str:token>", attachment_link, name="attachment-link"),
    # Twilio: voice, SMS and paging webhooks; /v1/calls
    path("v1/", include("telephony.api_urls")),
    path("webhooks/twilio/", include("telephony.urls")),
    # anymail inbound email webhooks, e.g. /webhooks/email/postmark/inbound/
    path("webhooks/email/", include("notifications.urls")),
    # the Slack app: page buttons and /oncall
    path("webhooks/slack/", include("escalation.slack_urls")),
    path("v1/", include("escalation.urls")),
    path("oncall/", include("escalation.public_urls")),  # answers to test pages
    path("metrics", metrics, name="prometheus-django-metrics"),  # replaces django_prometheus.urls
    # Any other /v1 path: the API's JSON 404 also with DEBUG on (Django's debug page is HTML).
    re_path(r"^v1/", csrf_exempt(not_found), name="v1-not-found"),
]
