"""The forms a clerk has for the case actions, and what a console URL or form may carry."""
from __future__ import annotations

import re
from dataclasses import dataclass

CASE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
CASE_NUMBER = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
MATTER_CODE = re.compile(r"^[A-Z0-9_]{1,64}$")
ID_NUMBER = re.compile(r"^\d{17}[\dXx]$")


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
    "assign": Form("指派给同事", ("assignee",)),
    "transfer": Form("转办其他社区", ("to_committee", "reason"), leaves_queue=True),
    "reject": Form("不予受理", ("reason",), leaves_queue=True, danger=True),
}
DONE = {"accept": "案件已受理，办理期限开始计算。", "start": "案件已开始办理。", "request_supplement": "已通知居民补正材料，期限暂停计算。",
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
