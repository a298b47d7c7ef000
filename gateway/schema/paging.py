"""How much a query asks: the page caps resolvers apply, the sizes the cost limit
(``gateway/limits.py``) counts lists at, and the service calls each field makes."""
from __future__ import annotations

from services.common.config import SERVICES

# The most each page argument gets from its resolver. The cost limit counts a page asked for
# through a variable at this size, so a query cannot hide its real size from the limit.
PAGE_CAPS = {"Query.catalogue": 50, "Query.staffQueue": 100, "Me.notices": 100, "Me.accessLog": 100,
             "Me.loanHistory": 100, "Query.libraryConflicts": 100, "Query.residentsLivingHere": 100,
             "Query.residentsRegisteredHere": 100, "Query.movesToConfirm": 100,
             "Query.popularScience": 50}
# Lists sized by the data, not by the query, that hold fewer than the cost limit's default
# of 20: a resolver's fixed number (services, a wallet's recent movements), or a household.
# A case's trail: submitted, accepted, started, a supplement asked and given, assigned,
# completed, a deadline raised: about ten steps.
# The district's 300 kiosks, each with a few open faults (a printer, the door, the network).
# A case's uploaded files: at most materials.MAX_PER_CASE (30).
# A conflict's trail: its resolution, rarely more. Its loans: those the event falls within
# (one, seldom two) and two either side (conflicts.NEIGHBOURS). A case's 督办: one, seldom a few.
LIST_SIZES = {"Query.health": len(SERVICES), "Wallet.recent": 5, "Me.children": 5, "Case.trail": 10,
              "Course.units": 5, "CourseUnit.lessons": 10, "Lesson.renditions": 3, "LibraryConflict.trail": 3,
              "LibraryConflictDetail.loans": 6, "Residence.moves": 10, "Query.libraryKiosks": 300,
              "KioskHealth.openFaults": 3, "Case.uploads": 30, "Case.urges": 5}
WALLET_MOVEMENTS = LIST_SIZES["Wallet.recent"]
# The service calls (RPCs) resolving a field makes, for the limit on calls per request; a
# mutation not listed makes one, any other field none (places' names come from a cache).
SERVICE_CALLS = {"Query.health": len(SERVICES), "Query.me": len(SERVICES), "Query.matters": 1, "Query.places": 1,
                 "Query.case": 1, "Query.catalogue": 1, "Query.courses": 1, "Query.course": 1, "Query.tvGuide": 1,
                 "Query.libraryLocations": 1,
                 "Query.staffQueue": 1, "Me.thread": 1, "Me.certificate": 1, "Me.loanHistory": 1,
                 "Query.libraryConflicts": 1, "Query.libraryConflict": 1, "Query.libraryKiosks": 1,
                 "Case.uploads": 1, "Query.residentsLivingHere": 1, "Query.residentsRegisteredHere": 1,
                 "Query.movesToConfirm": 1, "Me.residence": 1, "Query.supervision": 1,
                 "Query.popularScience": 1}


def page_size(asked: int | None, most: int, default: int = 20) -> int:
    """A page size clamped to 1..most; an explicit null means the default."""
    return max(1, min(default if asked is None else asked, most))
