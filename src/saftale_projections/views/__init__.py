"""The views saftale ships."""

from saftale_projections.views.audit import AuditTrail
from saftale_projections.views.deadlines import Deadlines
from saftale_projections.views.subjects import SubjectTimeline

__all__ = ["ALL_VIEWS", "AuditTrail", "Deadlines", "SubjectTimeline"]


def ALL_VIEWS() -> list[AuditTrail | SubjectTimeline | Deadlines]:  # noqa: N802 - a constant's role
    """A fresh instance of every shipped view."""
    return [AuditTrail(), SubjectTimeline(), Deadlines()]
