"""Privacy in logs and errors: registrations with bad input, an import with rejected rows and
GraphQL error paths, with every log record of the services and the gateway captured as the
JSON formatter writes it. No full ID number, mobile number or address may appear in a log
line, an error message or a rejection reason."""
import logging
import random

import pytest

from hostile_suite import codes, driver, suite  # noqa: F401  (fixtures)
from infra.imports import community as community_import
from services.common.logs import JsonFormatter
from support import id_number

REGISTER = ("mutation($id: String!, $n: String!, $p: String, $c: String!, $a: String!) { registerResident("
            "idNumber: $id, name: $n, phone: $p, residenceCommittee: $c, address: $a) { id idNumberMasked } }")


def wrong_check_digit(number: str) -> str:
    return number[:17] + next(d for d in "0123456789" if d != number[17])


def leaks(texts, secrets) -> list[str]:
    return [f"{secret!r} in {text[:300]!r}" for text in texts for secret in secrets if secret in text]


def test_no_id_number_phone_or_address_in_logs_errors_or_rejections(suite, caplog, rpc, tmp_path):
    caplog.set_level(logging.INFO)
    number, other = id_number(), id_number()
    phone = f"139{random.randrange(10 ** 8):08d}"
    address = f"枫林路{random.randrange(100, 999)}弄7号1203室"
    known = suite.resident                                       # registered by the fixture
    staff = suite.token("staff")
    person = {"id": number, "n": "陈静", "p": phone, "c": "C0201", "a": address}
    bad = [
        {"p": phone + "9"},                                      # a phone one digit too long
        {"p": phone[:-1]},                                       # one digit short
        {"c": "NOPE"},                                           # an unknown committee
        {"a": address * 20},                                     # an address over 200 characters
        {"id": wrong_check_digit(number)},
        {"id": number[:17]},                                     # 17 digits
        {"id": known["id_number"], "p": "13800138002", "a": "枫林路88弄3号502室"},  # already registered
        {"id": int(number[:17])},                                # a number, not a string
        {"p": int(phone)},
        {"a": {"street": address}},
    ]
    answers = [suite.ask(REGISTER, {**person, **change}, token=staff) for change in bad]
    assert all(a.get("errors") and not (a.get("data") or {}).get("registerResident") for a in answers), answers
    # GraphQL error paths with personal data where an id belongs
    answers += [suite.ask('{ case(id: "%s") { id } }' % number, token=staff),
                suite.ask('mutation { submitCase(matterCode: "ELDERLY_ALLOWANCE", residentId: "%s") { id } }'
                          % number, token=staff),
                suite.ask('{ staffQueue(matterCode: "%s", after: "%s") { nextCursor } }' % (phone, number),
                          token=staff),
                suite.ask(REGISTER, person, token=suite.token("resident"))]
    assert codes(answers[-4]) == ["NOT_FOUND"] and codes(answers[-3]) and codes(answers[-1]) == ["FORBIDDEN"]

    rows = ["id_number,name,phone,registered_committee,residence_committee,address",
            f"{other},甲,{phone}9,C0101,C0101,{address}",            # bad phone
            f"{other},乙,{phone},C0101,NOPE,{address}",              # unknown committee
            f"{known['id_number']},王芳,13800138002,C0101,C0201,枫林路88弄3号502室",  # already registered
            f"{wrong_check_digit(other)},丙,{phone},C0101,C0101,{address}",
            f"{other},丁,{phone},C0101,C0101,{address * 20}",        # address too long
            f"{phone},戊,{other},C0101,C0101,{address}"]             # the columns swapped
    path = tmp_path / "residents.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    imported, rejected = community_import.import_residents(rpc, path)
    assert imported == 0 and len(rejected) == 6, rejected

    formatter = JsonFormatter()
    lines = [formatter.format(r) for r in caplog.records]
    messages = [e["message"] for a in answers for e in a.get("errors", [])]
    reasons = [reason for _, reason in rejected]
    secrets = [number, other, known["id_number"], phone, "13800138002", address, "枫林路88弄3号502室"]
    assert len(lines) > 10                                       # the services did log these failures...
    masked = number[:3] + "*" * 11 + number[-4:]
    assert any(masked in line for line in lines)                 # ...quoting the ID number, masked
    assert leaks(lines, secrets) == []
    assert leaks(messages, secrets) == []
    assert leaks(reasons, secrets) == []


@pytest.mark.parametrize("typed, shown", [
    ("13900139000", "139****9000"), ("+8613900139000", "+86139****9000"), ("8613900139000", "86139****9000"),
    ("139-0013-9000", "139****9000"), ("139 0013 9000", "139****9000"), ("+86 139 0013 9000", "+86 139****9000"),
    ("31010119800101123X", "310***********123X"),
    ("order 2026113012345678", "order 2026113012345678"), ("12345678901", "12345678901")])   # not personal
def test_mobile_and_id_numbers_are_masked_however_they_are_typed(typed, shown):
    from services.common.logs import mask_personal
    assert mask_personal(typed) == shown
