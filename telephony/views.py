"""GET /v1/calls and /v1/calls/{id}: the call log, read-only (webhooks write it)."""

from rest_framework import viewsets

from telephony.filters import CallLogFilter
from telephony.models import CallLog
from telephony.serializers import CallLogSerializer


class CallLogViewSet(viewsets.ReadOnlyModelViewSet):
    """Calls, newest first. Written only by the Twilio webhooks."""

    queryset = CallLog.objects.all()
    serializer_class = CallLogSerializer
    filterset_class = CallLogFilter
    ordering_fields = ["created_at", "duration"]
    ordering = ["-created_at", "-id"]
