"""The root ``Mutation``: every area's mutations, in the order the schema lists them."""
from __future__ import annotations

import graphene

from gateway.schema.community_mutations import (ActOnCase, ChangePhone, ConfirmMove, DeclareMove, MarkNoticeRead,
                                                RegisterResident, SetAsideMove, SubmitCase)
from gateway.schema.learning_mutations import Enrol, RecordProgress
from gateway.schema.library_mutations import (BorrowDigital, CancelHold, HoldDigital, OpenDigital, PlaceHold,
                                              RenewLoan, ResolveLibraryConflict, ReturnDigital, SetLibraryPin)
from gateway.schema.schoolbag_mutations import FreezeWallet, MarkThreadRead, PostMessage, SetWalletLimits, TopUpWallet
from gateway.schema.supervision import AnswerUrge, RateCase, UrgeCase


class Mutation(graphene.ObjectType):
    submit_case = SubmitCase.Field()
    enrol = Enrol.Field()
    record_progress = RecordProgress.Field()
    top_up_wallet = TopUpWallet.Field()
    set_wallet_limits = SetWalletLimits.Field()
    freeze_wallet = FreezeWallet.Field()
    post_message = PostMessage.Field()
    mark_thread_read = MarkThreadRead.Field()
    renew_loan = RenewLoan.Field()
    place_hold = PlaceHold.Field()
    cancel_hold = CancelHold.Field()
    set_library_pin = SetLibraryPin.Field()
    borrow_digital = BorrowDigital.Field()
    return_digital = ReturnDigital.Field()
    hold_digital = HoldDigital.Field()
    open_digital = OpenDigital.Field()
    resolve_library_conflict = ResolveLibraryConflict.Field()
    act_on_case = ActOnCase.Field()
    register_resident = RegisterResident.Field()
    change_phone = ChangePhone.Field()
    mark_notice_read = MarkNoticeRead.Field()
    declare_move = DeclareMove.Field()
    confirm_move = ConfirmMove.Field()
    set_aside_move = SetAsideMove.Field()
    urge_case = UrgeCase.Field()
    answer_urge = AnswerUrge.Field()
    rate_case = RateCase.Field()
