"""Escalation data: schedules and contact methods, business calendars, policies and incidents."""

from escalation.models.calendars import BusinessCalendar, BusinessHours, Holiday
from escalation.models.incidents import (
    EscalationPolicy,
    EscalationStep,
    Incident,
    IncidentEvent,
    IncidentPage,
    IncidentStatus,
    PageCallOutcome,
    PageStatus,
    StepCondition,
    StepKind,
    TriggerReason,
)
from escalation.models.schedules import (
    ContactMethod,
    ContactMethodKind,
    LayerParticipant,
    NotificationRule,
    Override,
    RotationLayer,
    Schedule,
    ShiftUnit,
    validate_time_zone,
)

__all__ = [
    "BusinessCalendar",
    "BusinessHours",
    "ContactMethod",
    "ContactMethodKind",
    "EscalationPolicy",
    "EscalationStep",
    "Holiday",
    "Incident",
    "IncidentEvent",
    "IncidentPage",
    "IncidentStatus",
    "LayerParticipant",
    "NotificationRule",
    "Override",
    "PageCallOutcome",
    "PageStatus",
    "RotationLayer",
    "Schedule",
    "ShiftUnit",
    "StepCondition",
    "StepKind",
    "TriggerReason",
    "validate_time_zone",
]
