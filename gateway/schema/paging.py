"""How long a list may be: the page caps resolvers apply and the sizes the cost limit
(``gateway/limits.py``) counts lists at."""
from __future__ import annotations

from services.common.config import SERVICES

# The most each page argument gets from its resolver. The cost limit counts a page asked for
# through a variable at this size, so a query cannot hide its real size from the limit.
PAGE_CAPS = {"Query.catalogue": 50, "Query.staffQueue": 100, "Me.notices": 100, "Me.accessLog": 100}
# Lists sized by the data, not by the query, that hold fewer than the cost limit's default
# of 20: a resolver's fixed number (services, a wallet's recent movements), or a household.
LIST_SIZES = {"Query.health": len(SERVICES), "Wallet.recent": 5, "Me.children": 5}
WALLET_MOVEMENTS = LIST_SIZES["Wallet.recent"]


def page_size(asked: int | None, most: int, default: int = 20) -> int:
    """A page size clamped to 1..most; an explicit null means the default."""
    return max(1, min(default if asked is None else asked, most))
