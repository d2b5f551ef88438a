"""/v1 routes of the telephony app."""

from rest_framework.routers import SimpleRouter

from telephony.views import CallLogViewSet

router = SimpleRouter(trailing_slash=False)
router.register("calls", CallLogViewSet, basename="call")

urlpatterns = router.urls
