"""What circulation reads to decide and to answer: a patron's standing, the loan rule in
force for a patron, a copy and a location, the patron types the rules know, and a patron's
card, loans and holds as the gateway shows them."""
from __future__ import annotations

from datetime import date

from pymongo.database import Database

from services.library import catalogue, circulation, conflicts, conflicts_store, copies_store, holds_store, \
    loan_rules_store, patrons, patrons_store
from services.library.policy import LoanRule, patron_types, rule_for


def standing(db: Database, patron: dict, today: date) -> circulation.PatronStanding:
    loans = [c for c in copies_store.loans_of(db, patron["_id"]) if c["status"] == circulation.ON_LOAN]
    overdue = [(today - date.fromisoformat(c["loan"]["due"])).days for c in loans if circulation.is_overdue(c, today)]
    return circulation.PatronStanding(blocks=patrons.block_reasons(patron.get("blocks")), active_loans=len(loans),
                                      overdue_items=len(overdue), longest_overdue_days=max(overdue, default=0))


def rule(db: Database, patron: dict | None, copy: dict, loc: dict) -> LoanRule:
    return rule_for(loan_rules_store.rules(db), (patron or {}).get("patron_type", "adult"),
                    copy.get("material_type", "book"), loc.get("kind", "library"))


def known_patron_types(db: Database) -> tuple[str, ...]:
    return patron_types(loan_rules_store.rules(db), patrons.DEFAULT_PATRON_TYPE)


def cards(db: Database, resident_ids: list[str]) -> list[dict]:
    """The cards of these residents that exist, in the order asked."""
    found = patrons_store.by_ids(db, resident_ids)
    return [patrons.public_view(found[i]) for i in resident_ids if i in found]


def titled(db: Database, view: dict) -> dict:
    """A loan's or a hold's view with its title's name, as every answer about one shows it."""
    return {**view, "title": catalogue.title_name(db, view["title_id"])}


def loans_and_holds(db: Database, resident_ids: list[str]) -> dict:
    """{resident_id: {loans, holds}}, each item with its title's name."""
    out = {}
    for rid in resident_ids:
        loans = [circulation.loan_view(c) for c in copies_store.loans_of(db, rid)]
        holds = [circulation.hold_view(h, holds_store.position(db, h)) for h in holds_store.current_of(db, rid, 100)
                 if not h.get("digital")]   # those are on the digital shelf (digital_actions.shelf)
        out[rid] = {"loans": loans, "holds": holds}
    # titles by _id in one query (fast on every store), so no caller asks per item
    title_ids = list({item["title_id"] for v in out.values() for item in v["loans"] + v["holds"]})
    names = catalogue.title_names(db, title_ids)
    for v in out.values():
        for item in v["loans"] + v["holds"]:
            item["title"] = names.get(item["title_id"], "")
    return out


def history(db: Database, resident_id: str, limit: int) -> list[dict]:
    """A patron's loan history as they read it: each ended loan with its title, latest first."""
    found = copies_store.loan_history(db, resident_id, limit)
    names = catalogue.title_names(db, list({h["title_id"] for h in found}))
    return [{"loan_id": h["_id"], "barcode": h["barcode"], "title_id": h["title_id"],
             "title": names.get(h["title_id"], ""), "loaned_at": h.get("loaned_at"), "due": h.get("due"),
             "returned_at": h.get("returned_at"), "returned_to": h.get("returned_to"),
             "fine_cents": h.get("fine_cents") or 0} for h in found]


def conflict_detail(db: Database, conflict_id: str) -> dict:
    """A conflict as staff open it: the event that could not be applied and the copy's loans
    around it (``conflicts.detail``), patrons shown by their masked cards only."""
    conflict = conflicts_store.get(db, conflict_id)
    copy, history = conflicts_store.loans_of_copy(db, str(conflict.get("barcode") or ""))
    patron_ids = list({h["patron"] for h in history if h.get("patron")}
                      | ({copy["loan"]["patron"]} if copy and copy.get("loan") else set()))
    cards_by_id = conflicts_store.cards_of(db, patron_ids)
    title = catalogue.title_name(db, copy["title_id"]) if copy else None
    return conflicts.detail(conflict, copy, history, cards_by_id, title)
