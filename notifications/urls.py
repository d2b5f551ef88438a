"""/webhooks/email/<esp>/inbound/: anymail's inbound webhook for every supported ESP."""

from anymail import urls as anymail_urls
from django.urls import URLPattern, re_path

from notifications.webhooks import guarded

app_name = "notifications"

urlpatterns: list[URLPattern] = [
    re_path(pattern.pattern.regex.pattern.lstrip("^"), guarded(pattern.callback), name=pattern.name)
    for pattern in anymail_urls.urlpatterns
    if isinstance(pattern, URLPattern) and (pattern.name or "").endswith("_inbound_webhook")
]
