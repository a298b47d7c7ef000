"""The e-learning service's types for the e-schoolbag: a guardian's children with their
assignments and school wallet, home-school threads and their messages."""
from __future__ import annotations

import graphene


class Mark(graphene.ObjectType):
    submitted_at = graphene.String()
    late = graphene.Boolean()
    mark = graphene.String()
    comment = graphene.String()

    @staticmethod
    def of(s: dict) -> "Mark":
        return Mark(submitted_at=s.get("submitted_at"), late=s.get("late"),
                    mark=None if s.get("mark") is None else str(s["mark"]), comment=s.get("comment"))


class Assignment(graphene.ObjectType):
    id = graphene.ID(required=True)
    title = graphene.String(required=True)
    class_title = graphene.String()
    due_at = graphene.String(required=True)
    state = graphene.String(required=True, description="not_submitted, overdue, submitted or marked")
    submission = graphene.Field(Mark)

    @staticmethod
    def of(a: dict) -> "Assignment":
        return Assignment(id=a.get("assignment_id") or a.get("id"), title=a["title"],
                          class_title=a.get("class_title"), due_at=a["due_at"], state=a["state"],
                          submission=Mark.of(a["submission"]) if a.get("submission") else None)


class WalletMovement(graphene.ObjectType):
    kind = graphene.String(required=True)
    amount_fen = graphene.Int(required=True, description="integer fen (分); charges are negative")
    balance_after_fen = graphene.Int()
    at = graphene.String()
    terminal_id = graphene.String()

    @staticmethod
    def of(m: dict) -> "WalletMovement":
        return WalletMovement(kind=m["kind"], amount_fen=m["amount_fen"], balance_after_fen=m.get("balance_after_fen"),
                              at=m.get("booked_at") or m.get("at"), terminal_id=m.get("terminal_id"))


class Wallet(graphene.ObjectType):
    balance_fen = graphene.Int(required=True)
    frozen = graphene.Boolean(required=True)
    per_payment_limit_fen = graphene.Int()
    daily_limit_fen = graphene.Int()
    spent_today_fen = graphene.Int()
    low_balance = graphene.Boolean()
    recent = graphene.List(graphene.NonNull(WalletMovement), required=True)

    @staticmethod
    def of(w: dict) -> "Wallet":
        return Wallet(balance_fen=w["balance_fen"], frozen=w["frozen"], spent_today_fen=w.get("spent_today_fen"),
                      per_payment_limit_fen=w["limits"].get("per_payment_fen"),
                      daily_limit_fen=w["limits"].get("daily_fen"), low_balance=w.get("low_balance"),
                      recent=[WalletMovement.of(m) for m in w.get("recent", [])])


class Child(graphene.ObjectType):
    """A guardian's child (a minor: only what the guardian needs)."""

    id = graphene.ID(required=True)
    name = graphene.String(required=True)
    grade = graphene.String()
    classes = graphene.List(graphene.NonNull(graphene.String), required=True)
    assignments = graphene.List(graphene.NonNull(Assignment), required=True)
    wallet = graphene.Field(Wallet)

    @staticmethod
    def of(c: dict) -> "Child":
        child = Child(id=c["student_id"], name=c["name"], grade=c.get("grade"),
                      classes=[k["title"] for k in c.get("classes", [])],
                      assignments=[Assignment.of(a) for a in c.get("assignments", [])])
        child.wallet_found = c.get("wallet")
        return child

    def resolve_wallet(root, info):
        w = root.wallet_found   # came with the children (`Me.children` asks for it when selected)
        if w is None:
            return None
        return Wallet.of(w)


class ThreadFields:
    id = graphene.ID(required=True)
    student_id = graphene.String()
    subject = graphene.String()
    last_message_at = graphene.String()
    last_read_at = graphene.String(description="when I last read it (marked it read, or wrote in it)")
    unread = graphene.Boolean()

    @classmethod
    def of(cls, t: dict, **more):
        """A thread as the e-schoolbag lists it (``more``: the fields of a subclass)."""
        return cls(id=t["thread_id"], student_id=t.get("student_id"),
                   subject=f"{t.get('student_name', '')} · {t.get('class_title', '')}",
                   last_message_at=t.get("last_message_at"), last_read_at=t.get("last_read_at"),
                   unread=bool(t.get("unread")), **more)


class Thread(ThreadFields, graphene.ObjectType):
    """A home-school thread about one of my children (家校互动); its messages are read one
    thread at a time, with `me { thread(id) }`."""


class Message(graphene.ObjectType):
    id = graphene.ID(required=True)
    text = graphene.String(required=True)
    at = graphene.String(required=True)
    author_role = graphene.String(required=True, description="teacher or guardian")
    from_me = graphene.Boolean(required=True)
    seen = graphene.Boolean(required=True, description="someone else in the thread has read it")

    @staticmethod
    def of(m: dict, me: tuple[str, str]) -> "Message":
        """``me``: the reader as (role, id), to tell their own messages."""
        return Message(id=m["message_id"], text=m["text"], at=m["at"], author_role=m["author"]["role"],
                       from_me=(m["author"]["role"], m["author"]["id"]) == me, seen=bool(m.get("read_by")))


class ThreadWithMessages(ThreadFields, graphene.ObjectType):
    messages = graphene.List(graphene.NonNull(Message), required=True, description="oldest first")
