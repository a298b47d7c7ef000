"""Notices to residents: the shipped templates, and the sandbox for staff-edited ones."""
from __future__ import annotations

import dataclasses
import time

import jinja2
import pytest

from services.community import notices
from services.community.notices import (KINDS, Notice, TemplateRefused, check_template,
                                        default_source, render_custom, render_default,
                                        sample_context)

TITLE_WORDS = {"receipt": "受理回执", "supplement": "补正材料通知",
               "completion": "办结通知", "rejection": "不予受理通知"}


def case_context(kind: str, **overrides) -> dict:
    """A resident's case as the service would pass it (not the module's own sample)."""
    context = {
        "resident_name": "李建国",
        "case_id": "0c5e9a7d3b1f4c2a8e6d0b9f7a5c3e1d",
        "case_number": "C0101-20261125-0007",
        "matter_name": "高龄老人津贴申请",
        "accepting_desk": "外滩街道社区事务受理服务中心",
        "handling_committee": "金陵东路居民区居民委员会",
        "accepted_on": "2026年11月25日",
        "deadline": "2026年12月9日",
        "note": "",
        "today": "2026年11月26日",
    }
    if kind == "supplement":
        context["missing_materials"] = ["户口簿原件及复印件", "近期一寸免冠照片两张"]
    if kind == "rejection":
        context["reason"] = "申请人未满八十周岁，不符合申领条件。"
    return {**context, **overrides}


# --- the default templates -----------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_renders_title_and_body(kind):
    notice = render_default(kind, case_context(kind))
    assert isinstance(notice, Notice) and notice.kind == kind
    assert notice.title == f"“高龄老人津贴申请”{TITLE_WORDS[kind]}"
    assert notice.body.startswith("李建国：")
    assert "高龄老人津贴申请" in notice.body
    assert "C0101-20261125-0007" in notice.body
    assert notice.body.rstrip().endswith("2026年11月26日")  # dated on the day it is sent
    assert notice.title not in notice.body
    assert "\n\n\n" not in notice.body


def test_receipt_states_desk_committee_and_deadline():
    body = render_default("receipt", case_context("receipt")).body
    assert "已于2026年11月25日由外滩街道社区事务受理服务中心受理" in body
    assert "金陵东路居民区居民委员会" in body
    assert "承诺办结时限：2026年12月9日前" in body


def test_receipt_without_deadline_promises_no_date():
    body = render_default("receipt", case_context("receipt", deadline="")).body
    assert "承诺办结时限" not in body
    assert "办理结果将通过本消息中心通知您" in body


def test_supplement_lists_every_missing_material_and_the_deadline():
    body = render_default("supplement", case_context("supplement")).body
    assert "1. 户口簿原件及复印件" in body
    assert "2. 近期一寸免冠照片两张" in body
    assert "请于2026年12月9日前将上述材料提交至外滩街道社区事务受理服务中心" in body


def test_supplement_without_deadline_asks_for_soon():
    body = render_default("supplement", case_context("supplement", deadline="")).body
    assert "请尽快将上述材料提交" in body
    assert "请于" not in body


def test_completion_shows_the_result_note():
    context = case_context("completion", note="津贴自2026年12月起按月发放至本人社保卡。")
    body = render_default("completion", context).body
    assert "已由金陵东路居民区居民委员会办理完毕" in body
    assert "办理结果：津贴自2026年12月起按月发放至本人社保卡。" in body


def test_completion_without_note_has_no_result_line():
    assert "办理结果：" not in render_default("completion", case_context("completion")).body


def test_rejection_gives_the_reason():
    body = render_default("rejection", case_context("rejection")).body
    assert "决定不予受理" in body
    assert "理由：申请人未满八十周岁，不符合申领条件。" in body


def test_html_in_a_resident_name_is_escaped():
    context = case_context("receipt", resident_name="<script>alert(1)</script>")
    notice = render_default("receipt", context)
    assert "<script>" not in notice.body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;：" in notice.body


def test_html_in_missing_materials_and_reason_is_escaped():
    supplement = render_default("supplement", case_context("supplement", missing_materials=['<img src=x onerror="x()">']))
    assert "&lt;img src=x onerror=&#34;x()&#34;&gt;" in supplement.body
    rejection = render_default("rejection", case_context("rejection", reason="A & B <b>"))
    assert "理由：A &amp; B &lt;b&gt;" in rejection.body


def test_a_missing_variable_raises():
    context = case_context("receipt")
    del context["resident_name"]
    with pytest.raises(jinja2.UndefinedError, match="resident_name"):
        render_default("receipt", context)


@pytest.mark.parametrize("kind, key", [("supplement", "missing_materials"), ("rejection", "reason")])
def test_a_kinds_own_variable_is_required(kind, key):
    context = case_context(kind)
    del context[key]
    with pytest.raises(jinja2.UndefinedError, match=key):
        render_default(kind, context)


def test_optional_and_other_kinds_variables_may_be_left_out():
    context = case_context("receipt")
    del context["note"], context["deadline"]
    assert "李建国" in render_default("receipt", context).body


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown notice kind"):
        render_default("reminder", case_context("receipt"))


def test_notice_is_frozen():
    notice = render_default("receipt", case_context("receipt"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        notice.title = "改"  # type: ignore[misc]


@pytest.mark.parametrize("kind", KINDS)
def test_sample_context_has_every_variable_and_renders(kind):
    context = sample_context(kind)
    assert set(notices.CONTEXT_KEYS) <= set(context)
    assert render_default(kind, context).title


# --- staff templates in the sandbox ----------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_default_templates_pass_the_check_and_render_the_same_in_the_sandbox(kind):
    # Staff start editing from the shipped text, so it must be acceptable as it is.
    source = default_source(kind)
    check_template(source)
    assert render_custom(kind, source, case_context(kind)) == render_default(kind, case_context(kind))


CUSTOM = """\
{% macro item(label, value) %}　　{{ label }}：{{ value }}{% endmacro %}
{{ matter_name }}办理提醒
{{ resident_name }}：
{{ item("受理编号", case_number) }}
{{ item("办理地点", accepting_desk) }}
{% set comma = joiner("、") %}
　　所需材料：{% for m in missing_materials %}{{ comma() }}{{ m }}{% else %}无{% endfor %}

{% if deadline %}　　请于{{ deadline }}前办理。{% endif %}
　　编号末段：{{ case_number.split("-")|last }}，共{{ missing_materials|length }}项材料。
"""


def test_custom_template_renders_in_the_sandbox():
    check_template(CUSTOM)
    notice = render_custom("supplement", CUSTOM, case_context("supplement"))
    assert notice.title == "高龄老人津贴申请办理提醒"
    assert "　　受理编号：C0101-20261125-0007" in notice.body
    assert "所需材料：户口簿原件及复印件、近期一寸免冠照片两张" in notice.body
    assert "请于2026年12月9日前办理" in notice.body
    assert "编号末段：0007，共2项材料" in notice.body


def test_custom_template_escapes_values():
    notice = render_custom("receipt", CUSTOM, case_context("receipt", resident_name="<script>alert(1)</script>"))
    assert "<script>" not in notice.body
    assert "&lt;script&gt;" in notice.body


def test_custom_template_missing_variable_raises():
    context = case_context("receipt")
    del context["matter_name"]
    with pytest.raises(jinja2.UndefinedError, match="matter_name"):
        render_custom("receipt", CUSTOM, context)


HOSTILE = [
    ("{{ ''.__class__ }}", "'_'"),
    ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "'_'"),
    ("{{ cycler.__init__.__globals__ }}", "names starting with '_' are not allowed"),
    ("{{ lipsum.__globals__ }}", "'__globals__'"),
    ("{{ self._TemplateReference__context }}", "'_TemplateReference__context'"),
    ("{{ self }}", "'self'"),
    ("{{ config }}", "unknown variable(s): config"),
    ("{{ config.items() }}", "unknown variable(s): config"),
    ("{{ request }}", "unknown variable(s): request"),
    ("{{ namespace() }}", "unknown variable(s): namespace"),
    ("{{ range(10**9) }}", "range too large"),
    ("{% for i in range(100000000) %}{{ i }}{% endfor %}", "range too large"),
    ("{% include '/etc/passwd' %}", "{% include %} is not allowed"),
    ("{% import 'receipt.j2' as r %}", "{% import %} is not allowed"),
    ("{% from 'receipt.j2' import x %}", "{% from ... import %} is not allowed"),
    ("{% extends 'receipt.j2' %}", "{% extends %} is not allowed"),
    ("{{ resident_name|attr('__class__') }}", "filter 'attr' is not allowed"),
    ("{{ resident_name['__class__'] }}", "'__class__'"),
    ("{{ missing_materials|map(attribute='__class__')|list }}", "'__class__'"),
    ("{% set _x = 1 %}{{ _x }}", "'_x'"),
    ("{{ '{0.__class__}'.format(resident_name) }}", "calling 'format' is not allowed"),
    ("{{ dict.mro() }}", "unsafe"),
    ("{{ resident_name|safe }}", "filter 'safe' is not allowed"),
    ("{% autoescape false %}{{ resident_name }}{% endautoescape %}", "{% autoescape %} is not allowed"),
    ("{{ 'x' * 100000000 }}", "too large"),
    ("{{ '%099999999d' % 1 }}", "formatting with % is not allowed"),
    ("{{ 9 ** 99999 }}", "power too large"),
    ("标题\n{% for a in range(1000) %}{% for b in range(1000) %}{% endfor %}{% endfor %}", "too much work"),
    ("标题\n{% macro f(n) %}{% if n %}{{ f(n-1) }}{{ f(n-1) }}{% endif %}{% endmacro %}{{ f(40) }}",
     "too much work"),
    ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "recurses too deeply"),
    ("{% set a = [matter_name, matter_name] %}{% set b = [a, a] %}{% set c = [b, b] %}{% set d = [c, c] %}"
     "{% set e = [d, d] %}{% set f = [e, e] %}{% set g = [f, f] %}{% set h = [g, g] %}{% set i = [h, h] %}"
     "{% set j = [i, i] %}{% set k = [j, j] %}{% set l = [k, k] %}{{ l }}", "value too large"),
    ("{% set a = 'x' * 10000 %}{% set b = a ~ a ~ a %}{{ b }}", "value too large"),
    ("标题\n{% for i in range(1000) %}{{ accepting_desk }}{{ accepting_desk }}{% endfor %}", "notice is too long"),
    ("{{ missing_materials.append('x') }}", "append"),
]


@pytest.mark.parametrize("source, reason", HOSTILE, ids=[source[:40] for source, _ in HOSTILE])
def test_hostile_templates_are_refused_with_a_reason(source, reason):
    with pytest.raises(TemplateRefused) as refused:
        check_template(source)
    assert reason in str(refused.value)


def test_hostile_templates_cannot_be_rendered_either():
    with pytest.raises(TemplateRefused, match="include"):
        render_custom("receipt", "{% include '/etc/passwd' %}", case_context("receipt"))


def test_slow_template_is_refused_for_taking_too_long():
    source = "标题\n{% set s = 'x' * 9000 %}{% for i in range(1000) %}{% if s|list|sort|length %}{% endif %}{% endfor %}"
    started = time.monotonic()
    with pytest.raises(TemplateRefused, match="takes too long"):
        check_template(source)
    assert time.monotonic() - started < 5 * notices.MAX_SECONDS


def test_limits_apply_to_real_data_not_just_the_trial():
    # The sample context never takes this branch, so the template passes the check...
    source = "标题\n{% if resident_name == '张三' %}{{ range(100000) }}{% endif %}{{ resident_name }}"
    check_template(source)
    # ...but rendering it for that resident is still stopped.
    with pytest.raises(TemplateRefused, match="range too large"):
        render_custom("receipt", source, case_context("receipt", resident_name="张三"))


def test_syntax_error_names_the_line():
    source = "{{ matter_name }}通知\n{{ resident_name }}：\n　　{% if deadline %}请于{{ deadline }}前办理。\n"
    with pytest.raises(TemplateRefused, match=r"syntax error on line \d+") as refused:
        check_template(source)
    assert "endif" in str(refused.value)
    with pytest.raises(TemplateRefused, match="syntax error on line 2"):
        check_template("标题\n{{ resident_name }\n正文")


def test_overlong_source_is_refused():
    with pytest.raises(TemplateRefused, match="too long"):
        check_template("标题\n" + "正文" * 6000)


def test_template_that_renders_nothing_is_refused():
    with pytest.raises(TemplateRefused, match="title"):
        check_template("{% if false %}标题{% endif %}")


def test_unknown_filter_inside_an_untaken_branch_is_still_refused():
    with pytest.raises(TemplateRefused, match="filter 'tojson' is not allowed"):
        check_template("标题\n{% if false %}{{ resident_name|tojson }}{% endif %}")


def test_chinese_text_round_trips():
    source = "{{ matter_name }}（敬老）通知\n{{ resident_name }}同志：\n　　请携带身份证原件、户口簿前往办理。——社区事务受理服务中心 🏮\n"
    check_template(source)
    notice = render_custom("receipt", source, case_context("receipt", resident_name="𡈽丽娟"))
    assert notice.title == "高龄老人津贴申请（敬老）通知"
    assert notice.body == "𡈽丽娟同志：\n　　请携带身份证原件、户口簿前往办理。——社区事务受理服务中心 🏮"
    assert notice.body.encode("utf-8").decode("utf-8") == notice.body


def test_shipped_templates_are_utf8_text():
    for kind in KINDS:
        raw = (notices.TEMPLATES_DIR / f"{kind}.j2").read_bytes()
        assert raw.decode("utf-8") == default_source(kind)
        assert TITLE_WORDS[kind] in default_source(kind)
