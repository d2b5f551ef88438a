from django.urls import path
from rest_framework.routers import SimpleRouter

from tickets.api_attachments import AttachmentDownloadView, AttachmentThumbnailView
from tickets.views import MessageViewSet, SupportRequestView, TicketViewSet

router = SimpleRouter(trailing_slash=False)
router.register("tickets", TicketViewSet, basename="ticket")
router.register("messages", MessageViewSet, basename="message")

urlpatterns = [
    path("support/request", SupportRequestView.as_view(), name="support-request"),
    path("attachments/<int:pk>/download", AttachmentDownloadView.as_view(), name="attachment-download"),
    path("attachments/<int:pk>/thumbnail", AttachmentThumbnailView.as_view(), name="attachment-thumbnail"),
    *router.urls,
]
