"""The elearning service's collections and their indexes (courses arrive with their issue)."""
from services.common.outbox import OUTBOX_INDEX

INDEXES: dict = {"enrolments": [OUTBOX_INDEX]}
OUTBOX_COLLECTIONS = ["enrolments"]
