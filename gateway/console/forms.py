"""The forms a clerk has for the case actions, a supervisor for 督办 and a librarian for conflicts,
and what a console URL or form may carry."""
from __future__ import annotations

import re
from dataclasses import dataclass

CASE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CASE_NUMBER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MATTER_CODE = re.compile(r"^[A-Z0-9_]{1,64}$")
ID_NUMBER = re.compile(r"^\d{17}[\dXx]$")
NOTICE_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,200}$")   # a committee notice: <event id>:<committee>


@dataclass(frozen=True)
class Form:
    label: str
    fields: tuple[str, ...]      # beyond the note
    leaves_queue: bool = False   # after it the case is gone from this clerk's queue
    danger: bool = False


# The forms a clerk has for the case actions. Which of them a case offers is the community
# service's decision (the case view's ``actions``); the page shows those it has a form for.
FORMS: dict[str, Form] = {
    "accept": Form("受理", ()),
    "start": Form("开始办理", ()),
    "complete": Form("办结", (), leaves_queue=True),
    "request_supplement": Form("要求补正", ("missing_materials",)),
    # the materials handed in at the desk (a case handled in another district is sent on there)
    "supplement": Form("登记补正材料", ("materials",)),
    "assign": Form("指派给同事", ("assignee",)),
    "transfer": Form("转办其他社区", ("to_committee", "reason"), leaves_queue=True),
    "reject": Form("不予受理", ("reason",), leaves_queue=True, danger=True),
}
DONE = {"urged": "督办已发出，办理社区将在通知中看到。", "answered": "督办已答复。",
        "accepted_at_desk": "申请已在窗口登记。请核对材料后受理；由其他社区或街镇中心办理的，受理后转交。",
        "accept": "案件已受理，办理期限开始计算。", "start": "案件已开始办理。", "request_supplement": "已通知居民补正材料，期限暂停计算。",
        "supplement": "补正材料已登记（外区办理的案件已转交户籍地）。",
        "assign": "案件已指派。", "transfer": "案件已转办。", "complete": "案件已办结。", "reject": "已作出不予受理决定。"}


def items(text: str) -> list[str]:
    """Materials typed one a line (or separated by commas or 、)."""
    return [p.strip() for p in re.split(r"[\n,，、;；]+", text or "") if p.strip()][:30]


def action_request(case_id: str, action: str, step: Form, form) -> tuple[dict, str | None]:
    """The ``act_on_case`` request from a form, or the zh-CN reason it cannot be sent."""
    try:
        version = int(form.get("expected_version", ""))
    except ValueError:
        return {}, "页面已过期：缺少案件版本号，请刷新后重试"
    body = {"case_id": case_id, "action": action, "expected_version": version}
    note = (form.get("note") or "").strip()
    if note:
        body["note"] = note[:2000]
    reason = (form.get("reason") or "").strip()[:2000]
    if "reason" in step.fields:
        if not reason:
            return {}, "请填写理由（不予受理、转办均须说明理由）"
        body["reason"] = reason
    if "missing_materials" in step.fields:
        missing = items(form.get("missing_materials"))
        if not missing:
            return {}, "请填写需要居民补正的材料（每行一项）"
        body["missing_materials"] = [m[:100] for m in missing]
    if "materials" in step.fields:
        handed_in = items(form.get("materials"))
        if not handed_in:
            return {}, "请填写居民交来的补正材料（每行一项）"
        body["materials"] = [m[:100] for m in handed_in]
    if "assignee" in step.fields:
        assignee = (form.get("assignee_other") or form.get("assignee") or "").strip()[:64]
        if not assignee:
            return {}, "请选择或填写要指派的同事"
        body["assignee"] = assignee
    if "to_committee" in step.fields:
        target = (form.get("to_committee") or "").strip()[:32]
        if not target:
            return {}, "请选择接收转办的社区"
        body["to_committee"] = target
    return body, None


# ---- the library's pages (librarians) ------------------------------------------------------

CONFLICT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,300}$")
LOCATION_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
CONFLICT_KIND_NAMES = {"unresolved": "无法处理（未知读者卡或条码等）", "stale_checkout": "迟到的借出记录（未执行）",
                       "implied_return": "推定归还（等待原借阅的归还记录）"}
CONFLICT_STATUS_NAMES = {"open": "待处理", "resolved": "已处理"}
# what a librarian did about a conflict (contracts/rpc/library.py CONFLICT_ACTIONS)
CONFLICT_ACTION_NAMES = {"corrected": "已在服务台更正借还记录", "confirmed": "已核实，记录无误", "void": "机器记录有误，作废",
                         "patron_contacted": "已联系读者核实"}
LOAN_RELATION_NAMES = {"before": "此前", "during": "事件发生时", "after": "此后"}


def conflict_filters(args) -> tuple[dict, str | None]:
    """The filters of the conflicts page from its URL (status, kind, location, since, until),
    or the zh-CN reason they cannot be used: a value the page never offers is refused rather
    than ignored, so a page never lists more than it says."""
    filters = {k: (args.get(k) or "").strip() for k in ("status", "kind", "location", "since", "until")}
    filters = {k: v for k, v in filters.items() if v}
    if filters.get("status", "open") not in CONFLICT_STATUS_NAMES:
        return filters, "状态只能是待处理或已处理"
    if filters.get("kind", "unresolved") not in CONFLICT_KIND_NAMES:
        return filters, "没有这种冲突类型"
    if not LOCATION_CODE.match(filters.get("location", "X")):
        return filters, "地点代码无效"
    if not all(DAY.match(filters.get(k, "2000-01-01")) for k in ("since", "until")):
        return filters, "日期应写作 年-月-日（如 2026-12-07）"
    return filters, None


def resolution_form(form) -> tuple[dict, str | None]:
    """The resolution a librarian submitted (action, note), or the zh-CN reason it cannot be sent."""
    action = (form.get("action") or "").strip()
    note = (form.get("note") or "").strip()
    if action not in CONFLICT_ACTION_NAMES:
        return {}, "请选择处理方式"
    if not note:
        return {}, "请填写处理说明（必填：写明核实了什么、做了什么）"
    return {"action": action, "note": note[:500]}, None


# ---- electronic supervision (supervisors urge, clerks answer) ---------------------------------

URGE_ID = re.compile(r"^[a-f0-9]{1,32}$")
PLACE_CODE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def urge_form(form) -> tuple[dict, str | None]:
    """A supervisor's 督办 (note, reply_by), or the zh-CN reason it cannot be sent (the
    community service checks the rest: a day in the past, a closed case)."""
    note, reply_by = (form.get("note") or "").strip(), (form.get("reply_by") or "").strip()
    if not note:
        return {}, "请填写督办意见"
    if not DAY.match(reply_by):
        return {}, "请填写答复期限（年-月-日，如 2026-12-10）"
    return {"note": note, "reply_by": reply_by}, None   # as typed: too long, the service says so


def answer_form(form) -> tuple[str, str | None]:
    """A clerk's answer to a 督办, or the zh-CN reason it cannot be sent."""
    answer = (form.get("answer") or "").strip()
    if not answer:
        return "", "请填写办理情况（答复督办）"
    return answer, None
