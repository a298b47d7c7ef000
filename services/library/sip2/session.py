"""One SIP2 connection: its login, its last response (for resends) and the patrons whose
PIN it has seen; each request mapped to ``services.library.actions``, the one circulation
implementation, so a SIP2 checkout is the same action (and events) as any other.

Choices where the standard leaves room:
- before a good login 93 (login), 99 (status: many machines send it first) and 97 (resend)
  are answered as usual; any other message gets its own negative response with a screen
  message (AF) saying the machine has not signed in, and the connection stays open
  (SIP2_BEFORE_LOGIN=close closes it instead, for sites that want that); after BAD_IN_A_ROW
  of them the connection is closed;
- an unreadable message (bad checksum, a malformed trailer, garbage, unsupported code, too
  long) gets 96 (request SC resend) and is not acted on; the connection stays open. After
  BAD_IN_A_ROW of them in a row, or LOGIN_ATTEMPTS wrong logins, it is closed;
- a PIN (AD) is checked against the patron's hash (``patron_actions.check_pin``: constant time,
  wrong ones counted, too many block PIN entry for a while) and answered in CQ; a patron
  with no PIN set gets CQ N. Checkout, renew and hold need a good PIN, in the request or
  earlier in the patron's session (23/63 with AD); refusals say why on the screen (AF): no
  PIN set (set one in the app or at a desk), PIN entry blocked, wrong PIN. A "no block"
  checkout (done offline) needs none. PINs are never logged.
- a "no block" checkout (the machine lent offline) is placed at its transaction date, read in
  SIP2_TIMEZONE unless it says UTC, and kept in the store in UTC like every other instant.
  One older than the item's last recorded change is not applied: answered ok=0 ("not lent to
  you now", never with another patron's loan) and kept for staff as a conflict, as a kiosk's
  stale checkout is. One later than another patron's loan closes that loan as returned
  (its return has not reached us) and lends the item, as a kiosk's does.
"""
from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Callable

from services.common import clock
from services.common.errors import BadInput, NotFound, SuiteError
from services.common.storage import ping
from services.library import (actions, catalogue, circulation, copies_store, holds_store, kiosks, locations_store,
                              patron_actions, patrons_store, pins, reads)
from services.library.sip2 import accounts, messages, responses
from services.library.sip2.messages import Malformed, Request
from services.library.sip2.responses import Reply

log = logging.getLogger(__name__)

LOGIN_ATTEMPTS = 3
BAD_IN_A_ROW = 10
MAX_LIST = 50  # items in one patron-information list (a page: BP/BQ choose another)
CIRCULATION_STATUS = {circulation.AVAILABLE: "03", circulation.ON_LOAN: "04", circulation.ON_HOLD_SHELF: "08",
                      circulation.IN_TRANSIT: "10", circulation.CLAIMED_RETURNED: "11", circulation.LOST: "12"}
MEDIA_TYPE = {"book": "001", "periodical": "002", "av": "006"}
STALE_CHECKOUT = "not lent to you now: the item was handled after this offline loan; kept for staff to check"


BEFORE_LOGIN = ("refuse", "close")
NOT_SIGNED_IN = "this machine has not signed in to the library system: please ask staff"


def before_login(value: str) -> str:
    value = str(value).strip().lower()
    if value not in BEFORE_LOGIN:
        raise ValueError(f"SIP2_BEFORE_LOGIN must be one of {', '.join(BEFORE_LOGIN)}, not {value!r}")
    return value


@dataclass(frozen=True)
class Options:
    institution: str
    tz: tzinfo
    before_login: str = "refuse"   # what a message other than 93/99/97 gets before a login


class Session:
    def __init__(self, db, options: Options, *, peer: str = "?", clock: Callable[[], datetime] = clock.now):
        self.db, self.options, self.peer, self.clock = db, options, peer, clock
        self.account: dict | None = None
        self.encoding = accounts.BEFORE_LOGIN_CHARSET
        self.open = True             # False: send what handle() returned, then hang up
        self._last: tuple[tuple | None, bytes] | None = None
        self._verified: set[str] = set()
        self._failed_logins = 0
        self._bad_in_a_row = 0
        self._before_login = 0       # transactions refused for want of a login

    # ---- framing ----------------------------------------------------------------------

    def handle(self, raw: bytes | None) -> bytes | None:
        """The bytes to answer one message with (None: nothing; see ``open``). ``raw`` None
        stands for a message that was too long to read."""
        try:
            if raw is None:
                raise Malformed("message too long")
            req = messages.parse(raw, self.encoding)
        except Malformed as exc:
            return self._unreadable(exc)
        self._bad_in_a_row = 0
        if self.account is None and req.code not in ("93", "99", "97"):
            return self._unsigned(req)
        if req.code == "97":
            return self._last[1] if self._last else self._unreadable(Malformed("nothing to resend"))
        key = (req.code, req.seq, req.checksum) if req.checksum else None
        if key and self._last and self._last[0] == key:
            return self._last[1]  # the machine did not get our answer: repeat it, do not act twice
        reply = self._dispatch(req)
        if reply is None:
            return None
        out = messages.encode(reply.code, reply.fixed, reply.fields, encoding=self.encoding, seq=req.seq,
                              checked=req.checksum is not None)
        self._last = (key, out)
        return out

    def _unreadable(self, exc: Malformed) -> bytes | None:
        self._bad_in_a_row += 1
        log.info("SIP2 %s: unreadable message: %s", self.peer, exc)
        if self._bad_in_a_row > BAD_IN_A_ROW:
            self.open = False
            return None
        resend = responses.REQUEST_SC_RESEND
        return messages.encode(resend.code, resend.fixed, resend.fields, checked=exc.checked)

    def _unsigned(self, req: Request) -> bytes | None:
        """A transaction before a login: refused in its own response type, so the machine can
        show why (or the connection closed, when the site chose that)."""
        self._before_login += 1
        if self.options.before_login == "close" or self._before_login > BAD_IN_A_ROW:
            log.warning("SIP2 %s: message %s before login: closing", self.peer, req.code)
            self.open = False
            return None
        log.info("SIP2 %s: message %s before login: refused", self.peer, req.code)
        reply = self._failure(req, NOT_SIGNED_IN)
        return messages.encode(reply.code, reply.fixed, reply.fields, encoding=self.encoding, seq=req.seq,
                               checked=req.checksum is not None)

    def _dispatch(self, req: Request) -> Reply | None:
        handler = {"93": self._login, "99": self._status, "23": self._patron_status,
                   "63": self._patron_information, "17": self._item_information, "11": self._checkout,
                   "09": self._checkin, "29": self._renew, "15": self._hold, "35": self._end_session}[req.code]
        try:
            return handler(req)
        except SuiteError as exc:  # refused, unknown card or item, changed meanwhile...
            log.info("SIP2 %s %s: %s", self.login, req.code, exc)
            return self._failure(req, str(exc))
        except Exception:  # the store away, or a bug: the machine gets a refusal, the connection lives
            log.exception("SIP2 %s %s failed", self.login, req.code)
            return self._failure(req, "the library system cannot do this now: please ask staff")

    # ---- helpers ----------------------------------------------------------------------

    @property
    def login(self) -> str:
        return self.account["_id"] if self.account else "-"

    @property
    def location_code(self) -> str:
        return self.account["location"]

    def _now(self) -> str:
        return messages.sip_date(self.clock(), self.options.tz)

    def _today(self):
        return self.clock().astimezone(self.options.tz).date()

    def _day(self, day: str | None) -> str | None:
        return messages.sip_day(day, self.options.tz)

    def _title(self, title_id: str) -> str:
        return catalogue.title_name_now(self.db, title_id)

    def _media(self, copy: dict) -> str:
        return MEDIA_TYPE.get(copy.get("material_type", "book"), "000")

    def _patron(self, card: str) -> dict | None:
        return patrons_store.find_by_card(self.db, card) if card else None

    def _pin(self, req: Request, patron: dict) -> tuple[bool | None, str | None]:
        """(CQ, why not) for this request: checked when it carries a PIN (AD); else whether a
        good one was given earlier in this patron's session (None: never asked). A patron
        with no PIN set has none valid."""
        card = patron["card_number"]
        if req.has("AD"):
            check = patron_actions.check_pin(self.db, patron, req.get("AD"), self.clock())
            if len(self._verified) > 1000:
                self._verified.clear()  # a machine that never ends patron sessions: keep memory bounded
            (self._verified.add if check.ok else self._verified.discard)(card)
            if check.ok:
                return True, None
            until = check.blocked_until
            return False, pins.screen_message(check, until.astimezone(self.options.tz).strftime("%H:%M")
                                              if until else None)
        if not patron.get("pin_hash"):
            return False, pins.screen_message(pins.PinCheck(pins.NOT_SET))
        return (True, None) if card in self._verified else (None, None)

    def _need_pin(self, req: Request, patron: dict) -> None:
        ok, why = self._pin(req, patron)
        if ok is not True:
            raise BadInput(why or "please enter your PIN")

    def _offline_time(self, *texts: str) -> datetime:
        """When a machine that was offline did it: the first readable date, never later than
        now, in UTC (as every instant in the store: their strings are compared and sorted)."""
        now = self.clock()
        for text in texts:
            moment = messages.parse_sip_date(text, self.options.tz)
            if moment is not None:
                return min(moment, now).astimezone(timezone.utc)
        return now.astimezone(timezone.utc)

    def _flags(self, patron: dict) -> tuple[str, str | None, int]:
        """Patron status (14 flags), why borrowing is refused (or None), the item limit."""
        standing = reads.standing(self.db, patron, self._today())
        loc = locations_store.find(self.db, self.location_code) or {"kind": "library"}
        rule = reads.rule(self.db, patron, {"material_type": "book"}, loc)
        refusal = circulation.standing_refusal(standing, rule)
        flags = set()
        if refusal:
            flags.add("charge privileges denied")
        if standing.blocks:
            flags |= {"renewal privileges denied", "recall privileges denied", "hold privileges denied"}
        if standing.active_loans >= rule.item_limit:
            flags.add("too many items charged")
        if (standing.overdue_items >= rule.block_overdue_items
                or standing.longest_overdue_days > rule.block_overdue_days):
            flags.add("too many items overdue")
        return responses.patron_status_text(flags), (str(refusal) if refusal else None), rule.item_limit

    def _failure(self, req: Request, text: str) -> Reply:
        """The negative answer to ``req`` (each request has its own response type)."""
        now, inst = self._now(), req.get("AO", "")
        card, barcode = req.get("AA", ""), req.get("AB", "")
        if req.code == "93":
            return responses.login(False)
        if req.code == "99":
            return responses.acs_status(now=now, institution=self.options.institution, library_name="",
                                        terminal="", online=False, message=text)
        if req.code == "11":
            return responses.checkout(ok=False, now=now, institution=inst, card=card, barcode=barcode, message=text)
        if req.code == "29":
            return responses.renew(ok=False, now=now, institution=inst, card=card, barcode=barcode, message=text)
        if req.code == "09":
            return responses.checkin(ok=False, alert=True, now=now, institution=inst, barcode=barcode, message=text)
        if req.code == "17":
            return responses.item_information(circulation_status="01", now=now, barcode=barcode, title="",
                                              message=text)
        if req.code == "15":
            return responses.hold(ok=False, available=False, now=now, institution=inst, card=card,
                                  barcode=req.get("AB"), title=req.get("AJ"), message=text)
        if req.code == "35":
            return responses.end_session(ended=False, now=now, institution=inst, card=card, message=text)
        status = responses.patron_status_text(responses.DENIED)
        language = req.fixed.get("language", "000")
        if req.code == "63":
            return responses.patron_information(status=status, language=language, now=now, counts={},
                                                institution=inst, card=card, name="", valid=False, pin_ok=None,
                                                message=text)
        return responses.patron_status(status=status, language=language, now=now, institution=inst, card=card,
                                       name="", valid=False, pin_ok=None, message=text)

    # ---- requests ---------------------------------------------------------------------

    def _login(self, req: Request) -> Reply:
        login = req.get("CN", "")
        account = accounts.authenticate(self.db, login, req.get("CO", ""))
        if account is None:
            self.account = None
            self._failed_logins += 1
            log.warning("SIP2 %s: login refused for %r", self.peer, login[:40])
            if self._failed_logins >= LOGIN_ATTEMPTS:
                self.open = False
            return responses.login(False)
        self.account, self._failed_logins = account, 0
        self.encoding = account.get("charset") or accounts.DEFAULT_CHARSET
        log.info("SIP2 %s: %s logged in at %s", self.peer, login, account["location"])
        return responses.login(True)

    def _status(self, req: Request) -> Reply:
        online = ping(self.db) is None
        name = ""
        if self.account and online:
            name = (locations_store.find(self.db, self.location_code) or {}).get("name", "")
        return responses.acs_status(now=self._now(), institution=self.options.institution, library_name=name,
                                    terminal=self.account["location"] if self.account else "", online=online)

    def _patron_status(self, req: Request) -> Reply:
        card = req.get("AA", "")
        patron = self._patron(card)
        if patron is None:
            return self._failure(req, "unknown library card")
        status, why, _ = self._flags(patron)
        pin_ok, pin_why = self._pin(req, patron)
        return responses.patron_status(status=status, language=req.fixed["language"], now=self._now(),
                                       institution=req.get("AO", ""), card=card, name=patron.get("name", ""),
                                       valid=True, pin_ok=pin_ok, message=_joined(pin_why, why))

    def _patron_information(self, req: Request) -> Reply:
        card = req.get("AA", "")
        patron = self._patron(card)
        if patron is None:
            return self._failure(req, "unknown library card")
        status, why, limit = self._flags(patron)
        pin_ok, pin_why = self._pin(req, patron)
        today = self._today()
        loans = [c for c in copies_store.loans_of(self.db, patron["_id"]) if c["status"] == circulation.ON_LOAN]
        holds = holds_store.current_of(self.db, patron["_id"], 200)
        full = {"AS": [h.get("barcode") or h["title_id"] for h in holds if h["status"] == "ready"],
                "AT": [c["_id"] for c in loans if circulation.is_overdue(c, today)],
                "AU": [c["_id"] for c in loans],
                "CD": [h["title_id"] for h in holds if h["status"] != "ready"]}
        start = max(1, _int(req.get("BP"), 1))
        end = max(start, _int(req.get("BQ"), start + MAX_LIST - 1))
        wanted = req.fixed["summary"]
        lists = {tag: full.get(tag, [])[start - 1:min(end, start + MAX_LIST - 1)]
                 for i, (tag, _) in enumerate(responses.SUMMARY_LISTS) if wanted[i:i + 1].upper() == "Y"}
        return responses.patron_information(
            status=status, language=req.fixed["language"], now=self._now(),
            counts={tag: len(items) for tag, items in full.items()}, institution=req.get("AO", ""), card=card,
            name=patron.get("name", ""), valid=True, pin_ok=pin_ok, charged_limit=limit,
            lists=lists, message=_joined(pin_why, why))

    def _item_information(self, req: Request) -> Reply:
        copy = copies_store.by_barcode(self.db, req.get("AB", ""))
        queue = holds_store.queue_length(self.db, copy["title_id"])
        return responses.item_information(
            circulation_status=CIRCULATION_STATUS.get(copy["status"], "01"), now=self._now(), barcode=copy["_id"],
            title=self._title(copy["title_id"]), hold_queue=queue, due=self._day((copy.get("loan") or {}).get("due")),
            hold_pickup_date=self._day((copy.get("hold") or {}).get("expires")), media_type=self._media(copy),
            permanent_location=copy.get("home_location", ""), current_location=copy.get("location", ""))

    def _checkout(self, req: Request) -> Reply:
        card, barcode = req.get("AA", ""), req.get("AB", "")
        offline = req.fixed["no_block"].upper() == "Y"
        patron = patrons_store.by_card(self.db, card)
        if not offline:
            self._need_pin(req, patron)
        copy = copies_store.by_barcode(self.db, barcode)
        # "no block": the machine lent it while offline; record it as it happened, policy or not
        at = self._offline_time(req.fixed["transaction_date"]) if offline else None
        message = None
        if at is not None and kiosks.is_stale(at, copy.get("state_at")):
            # as kiosks: an old fact must not undo newer ones; it is kept for staff. The loan now
            # on the item (if any) is someone else's: never answered as this patron's
            self._stale_checkout(req, copy, card, at)
            return responses.checkout(ok=False, now=self._now(), institution=req.get("AO", ""), card=card,
                                      barcode=copy["_id"], title=self._title(copy["title_id"]),
                                      media_type=self._media(copy), message=STALE_CHECKOUT)
        source = f"sip2:{self.login}"[:100]
        if at is not None and circulation.on_loan_to_another(copy, patron["_id"]):
            # lent offline after another patron's loan began: that loan's return has not reached
            # us (or was never scanned); closed as of then, and staff see the implied return
            copy = self._lent_after_implied_return(req, copy, patron, card, at, source)
        else:
            try:
                copy = actions.checkout(self.db, barcode=barcode, patron=patron, location_code=self.location_code,
                                        at=at, source=source, copy=copy, honour_policy=not offline)
            except circulation.Refused as exc:
                if exc.code != "already_yours":
                    raise
                message = str(exc)  # a retry (another connection, a replay): the loan stands
        loan = copy.get("loan") or {}
        return responses.checkout(ok=True, now=self._now(), institution=req.get("AO", ""), card=card,
                                  barcode=copy["_id"], title=self._title(copy["title_id"]),
                                  due=self._day(loan.get("due")), transaction_id=loan.get("loan_id"),
                                  media_type=self._media(copy), message=message)

    def _offline_event(self, req: Request, copy: dict, card: str, at: datetime) -> dict:
        """An offline checkout as staff see it in a conflict: one id per transaction (the same
        one forwarded again, on any connection, is the same conflict)."""
        key = "|".join((self._where, card, copy["_id"], at.isoformat()))
        return {"id": "sip2-" + hashlib.sha256(key.encode("utf-8")).hexdigest()[:32], "type": "sip2.checkout",
                "time": at.isoformat(),
                "data": {"barcode": copy["_id"], "card_number": card, "location": self.location_code,
                         "no_block": True, "transaction_date": req.fixed["transaction_date"]}}

    @property
    def _where(self) -> str:
        return f"sip2:{self.login}"[:64]

    def _lent_after_implied_return(self, req: Request, copy: dict, patron: dict, card: str, at: datetime,
                                   source: str) -> dict:
        event = self._offline_event(req, copy, card, at)
        lent = actions.lend_after_implied_return(self.db, copy=copy, patron=patron, location_code=self.location_code,
                                                 at=at, source=source, applied_event=None)
        actions.record_conflict(self.db, where=self._where, barcode=copy["_id"], event=event, at=at,
                                kind="implied_return", conflict_id=event["id"],
                                reason="lent offline at a self-check machine while on loan to another patron: "
                                       "that loan was closed as returned; waiting for its return")
        return lent

    def _stale_checkout(self, req: Request, copy: dict, card: str, at: datetime) -> None:
        """Keep an offline checkout that came too late for staff, as a kiosk's: once per
        transaction, settled at once if a later check-in already ended that loan."""
        where = self._where
        event = self._offline_event(req, copy, card, at)
        returned = kiosks.first_checkin_after(at, copy.get("checkins")) or (
            copy.get("checked_in_at") if kiosks.checked_in_since(at, copy.get("checked_in_at")) else None)
        patron = patrons_store.find_by_card(self.db, card)
        if returned and patron is not None:   # the loan happened and ended: it joins the history
            actions.keep_late_loan(self.db, copy, patron["_id"], at, returned, where, event["id"])
        actions.record_conflict(self.db, where=where, barcode=copy["_id"], event=event, at=at, kind="stale_checkout",
                                reason="checked out offline at a self-check machine before the item's last "
                                       "recorded change: not applied",
                                settled="a later check-in ended this loan" if returned else None)

    def _checkin(self, req: Request) -> Reply:
        barcode = req.get("AB", "")
        offline = req.fixed["no_block"].upper() == "Y"
        copy = copies_store.by_barcode(self.db, barcode)
        at = self._offline_time(req.fixed["return_date"], req.fixed["transaction_date"]) if offline else None
        if at is not None and kiosks.is_stale(at, copy.get("state_at")):
            # returned offline before the item's last recorded change: applying it would undo newer
            # facts; remembered, as a kiosk's late return, to settle what it explains
            actions.note_late_checkin(self.db, copy["_id"], at, f"a return at sip2:{self.login}"[:100])
            message = "recorded: the item has been handled since"
        else:
            copy, ended = actions.checkin(self.db, barcode=barcode, location_code=self.location_code, at=at,
                                          source=f"sip2:{self.login}"[:100], copy=copy)
            message = None if ended else "this item was not on loan"
        if copy["status"] == circulation.ON_HOLD_SHELF:
            message = "a patron's hold: put it on the hold shelf"
        elif copy["status"] == circulation.IN_TRANSIT:
            message = f"a patron's hold: send it to {copy['hold']['pickup']}"
        return responses.checkin(ok=True, alert=copy["status"] in (circulation.ON_HOLD_SHELF, circulation.IN_TRANSIT),
                                 now=self._now(), institution=req.get("AO", ""), barcode=copy["_id"],
                                 permanent_location=copy.get("home_location", ""), title=self._title(copy["title_id"]),
                                 media_type=self._media(copy), message=message)

    def _renew(self, req: Request) -> Reply:
        card = req.get("AA", "")
        patron = patrons_store.by_card(self.db, card)
        self._need_pin(req, patron)
        copy = actions.renew(self.db, barcode=req.get("AB", ""), patron=patron, source=f"sip2:{self.login}"[:100])
        loan = copy["loan"]
        return responses.renew(ok=True, now=self._now(), institution=req.get("AO", ""), card=card,
                               barcode=copy["_id"], title=self._title(copy["title_id"]), due=self._day(loan["due"]),
                               transaction_id=loan["loan_id"], media_type=self._media(copy))

    def _hold(self, req: Request) -> Reply:
        card = req.get("AA", "")
        patron = patrons_store.by_card(self.db, card)
        self._need_pin(req, patron)
        barcode = req.get("AB") or None
        title_id = copies_store.by_barcode(self.db, barcode)["title_id"] if barcode else req.get("AJ", "")
        if not title_id:
            raise BadInput("name the item (AB) or the title (AJ) to hold")
        mode = req.fixed["hold_mode"]
        common = dict(now=self._now(), institution=req.get("AO", ""), card=card, barcode=barcode,
                      title=self._title(title_id))
        if mode == "+":
            hold = actions.place_hold(self.db, patron=patron, title_id=title_id,
                                      pickup=req.get("BS") or self.location_code)
            ready = hold["status"] == "ready"
            return responses.hold(ok=True, available=ready, expires=self._day(hold.get("expires")),
                                  position=holds_store.position(self.db, hold), pickup=hold["pickup"],
                                  message="ready for you to collect" if ready else None, **common)
        if mode == "-":
            mine = holds_store.current_on(self.db, patron["_id"], title_id)
            if mine is None:
                raise NotFound("you have no hold on this title")
            hold = actions.cancel_hold(self.db, patron=patron, hold_id=mine["_id"])
            return responses.hold(ok=True, available=False, pickup=hold["pickup"], message="hold cancelled", **common)
        raise BadInput("a hold can be placed (+) or cancelled (-) here, not changed")

    def _end_session(self, req: Request) -> Reply:
        card = req.get("AA", "")
        self._verified.discard(card)
        return responses.end_session(ended=True, now=self._now(), institution=req.get("AO", ""), card=card)


def _joined(*messages: str | None) -> str | None:
    return "; ".join(m for m in messages if m) or None


def _int(text: str | None, default: int) -> int:
    try:
        return int((text or "").strip())
    except ValueError:
        return default
