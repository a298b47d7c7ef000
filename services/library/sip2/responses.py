"""SIP2 responses, free of I/O: one builder per response, its fixed fields and its
variable fields in the order SIP2 2.00 lists them (some clients read them by position).
A field given as None is left out."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

PROTOCOL_VERSION = "2.00"

# BX (supported messages): the 16 messages in the standard's order, and whether we answer them
SUPPORTED = (
    ("patron status", True), ("checkout", True), ("checkin", True), ("block patron", False),
    ("SC/ACS status", True), ("request SC/ACS resend", True), ("login", True), ("patron information", True),
    ("end patron session", True), ("fee paid", False), ("item information", True),
    ("item status update", False), ("patron enable", False), ("hold", True), ("renew", True),
    ("renew all", False),
)

# the 14 positions of "patron status", in order
PATRON_FLAGS = (
    "charge privileges denied", "renewal privileges denied", "recall privileges denied",
    "hold privileges denied", "card reported lost", "too many items charged", "too many items overdue",
    "too many renewals", "too many claims of items returned", "too many items lost",
    "excessive outstanding fines", "excessive outstanding fees", "recall overdue", "too many items billed",
)
DENIED = frozenset(PATRON_FLAGS[:4])

# the six lists of patron information, by their position in the request's "summary"
SUMMARY_LISTS = (("AS", "hold items"), ("AT", "overdue items"), ("AU", "charged items"),
                 ("AV", "fine items"), ("BU", "recall items"), ("CD", "unavailable hold items"))


@dataclass(frozen=True)
class Reply:
    code: str
    fixed: tuple[str, ...]
    fields: tuple[tuple[str, str | None], ...] = ()


REQUEST_SC_RESEND = Reply("96", ())


def yn(flag: bool) -> str:
    return "Y" if flag else "N"


def _ok(flag: bool) -> str:
    return "1" if flag else "0"


def supported_messages() -> str:
    return "".join(yn(on) for _, on in SUPPORTED)


def patron_status_text(flags: Iterable[str]) -> str:
    flags = set(flags)
    unknown = flags - set(PATRON_FLAGS)
    if unknown:
        raise ValueError(f"unknown patron status flags {sorted(unknown)}")
    return "".join("Y" if f in flags else " " for f in PATRON_FLAGS)


def login(ok: bool) -> Reply:
    return Reply("94", (_ok(ok),))


def acs_status(*, now: str, institution: str, library_name: str, terminal: str, online: bool = True,
               timeout: str = "100", retries: str = "003", message: str | None = None) -> Reply:
    # checkin, checkout and renewal policy on; status update off; offline (no block) accepted
    return Reply("98", (yn(online), "Y", "Y", "Y", "N", "Y", timeout, retries, now, PROTOCOL_VERSION), (
        ("AO", institution), ("AM", library_name), ("BX", supported_messages()), ("AN", terminal),
        ("AF", message)))


def _pin(pin_ok: bool | None) -> str | None:
    return None if pin_ok is None else yn(pin_ok)


def patron_status(*, status: str, language: str, now: str, institution: str, card: str, name: str,
                  valid: bool, pin_ok: bool | None, message: str | None = None) -> Reply:
    return Reply("24", (status, language, now), (
        ("AO", institution), ("AA", card), ("AE", name), ("BL", yn(valid)), ("CQ", _pin(pin_ok)),
        ("AF", message)))


def patron_information(*, status: str, language: str, now: str, counts: Mapping[str, int], institution: str,
                       card: str, name: str, valid: bool, pin_ok: bool | None, charged_limit: int | None = None,
                       lists: Mapping[str, list[str]] | None = None, message: str | None = None) -> Reply:
    """``counts`` and ``lists`` are keyed by the list tags of SUMMARY_LISTS (AS, AT...)."""
    lists = lists or {}
    fixed = (status, language, now, *(f"{min(counts.get(tag, 0), 9999):04d}" for tag, _ in SUMMARY_LISTS))
    fields = [("AO", institution), ("AA", card), ("AE", name),
              ("CB", None if charged_limit is None else f"{charged_limit:04d}"),
              ("BL", yn(valid)), ("CQ", _pin(pin_ok))]
    for tag, _ in SUMMARY_LISTS:
        fields += [(tag, item) for item in lists.get(tag, ())]
    fields.append(("AF", message))
    return Reply("64", fixed, tuple(fields))


def item_information(*, circulation_status: str, now: str, barcode: str, title: str, hold_queue: int | None = None,
                     due: str | None = None, hold_pickup_date: str | None = None, media_type: str | None = None,
                     permanent_location: str | None = None, current_location: str | None = None,
                     message: str | None = None) -> Reply:
    # security marker 00 (other), fee type 01 (other/unknown)
    return Reply("18", (circulation_status, "00", "01", now), (
        ("CF", None if hold_queue is None else str(hold_queue)), ("AH", due), ("CM", hold_pickup_date),
        ("AB", barcode), ("AJ", title), ("CK", media_type), ("AQ", permanent_location),
        ("AP", current_location), ("AF", message)))


def _charged(code: str, *, ok: bool, renewal_ok: bool, now: str, institution: str, card: str, barcode: str,
             title: str, due: str | None, transaction_id: str | None, media_type: str | None,
             message: str | None) -> Reply:
    # magnetic media N; desensitize only what has been lent
    return Reply(code, (_ok(ok), yn(renewal_ok), "N", yn(ok), now), (
        ("AO", institution), ("AA", card), ("AB", barcode), ("AJ", title), ("AH", due or ""),
        ("CK", media_type), ("BK", transaction_id), ("AF", message)))


def checkout(*, ok: bool, now: str, institution: str, card: str, barcode: str, title: str = "",
             due: str | None = None, transaction_id: str | None = None, media_type: str | None = None,
             message: str | None = None) -> Reply:
    return _charged("12", ok=ok, renewal_ok=False, now=now, institution=institution, card=card, barcode=barcode,
                    title=title, due=due, transaction_id=transaction_id, media_type=media_type, message=message)


def renew(*, ok: bool, now: str, institution: str, card: str, barcode: str, title: str = "",
          due: str | None = None, transaction_id: str | None = None, media_type: str | None = None,
          message: str | None = None) -> Reply:
    return _charged("30", ok=ok, renewal_ok=ok, now=now, institution=institution, card=card, barcode=barcode,
                    title=title, due=due, transaction_id=transaction_id, media_type=media_type, message=message)


def checkin(*, ok: bool, alert: bool, now: str, institution: str, barcode: str, permanent_location: str = "",
            title: str | None = None, media_type: str | None = None, sort_bin: str | None = None,
            message: str | None = None) -> Reply:
    # resensitize what came back; magnetic media N
    return Reply("10", (_ok(ok), yn(ok), "N", yn(alert), now), (
        ("AO", institution), ("AB", barcode), ("AQ", permanent_location), ("AJ", title), ("CK", media_type),
        ("CL", sort_bin), ("AF", message)))


def hold(*, ok: bool, available: bool, now: str, institution: str, card: str, expires: str | None = None,
         position: int | None = None, pickup: str | None = None, barcode: str | None = None,
         title: str | None = None, message: str | None = None) -> Reply:
    return Reply("16", (_ok(ok), yn(available), now), (
        ("BW", expires), ("BR", None if position is None else str(position)), ("BS", pickup),
        ("AO", institution), ("AA", card), ("AB", barcode), ("AJ", title), ("AF", message)))


def end_session(*, ended: bool, now: str, institution: str, card: str, message: str | None = None) -> Reply:
    return Reply("36", (yn(ended), now), (("AO", institution), ("AA", card), ("AF", message)))
