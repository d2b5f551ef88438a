from django.urls import path
from rest_framework.routers import SimpleRouter

from escalation.views import IncidentViewSet, ScheduleFeedView, ScheduleViewSet

router = SimpleRouter(trailing_slash=False)
router.register("oncall/schedules", ScheduleViewSet, basename="schedule")
router.register("incidents", IncidentViewSet, basename="incident")

urlpatterns = [
    path("oncall/schedules/<int:pk>.ics", ScheduleFeedView.as_view(), name="schedule-ics"),
    *router.urls,
]
