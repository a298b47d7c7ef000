"""The e-learning service's mutations for the e-schoolbag: a guardian's part of a child's
wallet (payment orders to top up, limits, freezing) and of home-school threads."""
from __future__ import annotations

import graphene

from gateway.schema.asking import RESIDENT_ROLES, as_resident, calls, guardian, principal
from gateway.schema.schoolbag import Thread


class WalletOutcome(graphene.ObjectType):
    status = graphene.String()
    balance_fen = graphene.Int()


class WalletPaymentOrder(graphene.ObjectType):
    """An order to pay: the wallet is credited when the payment provider tells the suite it is
    paid (a signed notification for this order and this amount), never by this answer."""

    order_id = graphene.ID(description="what the guardian pays with the payment provider")
    student_id = graphene.ID()
    amount_fen = graphene.Int()
    status = graphene.String(description="pending until the provider notifies the payment, then paid")
    created_at = graphene.String()


class TopUpWallet(graphene.Mutation):
    """A guardian asks to top up a child's wallet: the answer is a payment order, not money."""

    class Arguments:
        student_id = graphene.ID(required=True)
        amount_fen = graphene.Int(required=True)

    Output = WalletPaymentOrder

    def mutate(root, info, student_id, amount_fen):
        r = as_resident(info, "elearning", "wallet_create_payment_order", student_id, amount_fen)
        return WalletPaymentOrder(order_id=r["order_id"], student_id=r["student_id"], amount_fen=r["amount_fen"],
                                  status=r["status"], created_at=r["created_at"])


class SetWalletLimits(graphene.Mutation):
    class Arguments:
        student_id = graphene.ID(required=True)
        per_payment_fen = graphene.Int(description="null lifts the limit")
        daily_fen = graphene.Int(description="null lifts the limit")

    Output = WalletOutcome

    def mutate(root, info, student_id, per_payment_fen=None, daily_fen=None):
        r = as_resident(info, "elearning", "wallet_set_limits", student_id, per_payment_fen, daily_fen)
        return WalletOutcome(status="limits set", balance_fen=r.get("balance_fen"))


class FreezeWallet(graphene.Mutation):
    class Arguments:
        student_id = graphene.ID(required=True)
        frozen = graphene.Boolean(required=True)

    Output = WalletOutcome

    def mutate(root, info, student_id, frozen):
        method = "wallet_freeze" if frozen else "wallet_unfreeze"
        r = as_resident(info, "elearning", method, student_id)
        return WalletOutcome(status="frozen" if frozen else "unfrozen", balance_fen=r.get("balance_fen"))


class PostMessage(graphene.Mutation):
    """A guardian writes to their child's class teacher: in a thread, or a new one about the child."""

    class Arguments:
        text = graphene.String(required=True)
        thread_id = graphene.ID()
        student_id = graphene.ID()

    Output = Thread

    def mutate(root, info, text, thread_id=None, student_id=None):
        who = principal(info, *RESIDENT_ROLES)
        m = calls(info).call("elearning", "post_message", guardian(who), text, thread_id, student_id)
        return Thread(id=m.get("thread_id"), student_id=m.get("student_id"), last_message_at=m.get("posted_at"),
                      unread=False)


class MarkThreadRead(graphene.Mutation):
    """A guardian marks a thread about one of their children read (up to now)."""

    class Arguments:
        thread_id = graphene.ID(required=True)

    Output = Thread

    def mutate(root, info, thread_id):
        who = principal(info, *RESIDENT_ROLES)
        marked = calls(info).call("elearning", "mark_read", guardian(who), thread_id)
        return Thread(id=marked["thread_id"], last_read_at=marked["read_at"], unread=False)
