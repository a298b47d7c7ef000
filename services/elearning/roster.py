"""School rosters from IMS OneRoster 1.1 CSV (bulk or delta) to e-schoolbag records: the
pure mapping, no I/O. ``infra/imports/roster.py`` reads the files, resolves guardians to
residents through the community service and sends the records to
``elearning.roster_import``; the records below are that RPC's payload.

How OneRoster 1.1 rows become records (columns not named here are not read):

================== ====================================================================
orgs.csv           ``org``: sourcedId, name, type (school, district, ...), identifier
                   (the school code), parentSourcedId.
academicSessions   ``session``: sourcedId, title, type (schoolYear, term, semester,
.csv               gradingPeriod), startDate, endDate (YYYY-MM-DD), schoolYear, parent.
classes.csv        ``class``: sourcedId, title, schoolSourcedId, classType (homeroom |
                   scheduled; homeroom is the 行政班 a guardian's thread goes to by
                   default), classCode, grades, termSourcedIds, subjects.
users.csv          by ``role``:
                   student  -> ``student``: sourcedId, name, grade (the first of
                            ``grades``), orgSourcedIds. Pupils are minors: their
                            identifier, metadata.*, email, sms, phone, username, password
                            and demographics are never read, so never stored.
                   teacher  -> ``teacher``: sourcedId, name, orgSourcedIds.
                   guardian, parent -> ``guardian``: sourcedId, name, orgSourcedIds and
                            the resident ID number (18 digits, checked): the column
                            ``metadata.idNumber`` when present and not empty, else
                            ``identifier``. The import exchanges it for the resident's id
                            (community ``find_resident``); the ID number itself is not
                            sent to the elearning service.
                   other roles (administrator, aide, proctor, relative) are rejected:
                            the e-schoolbag has no use for them.
                   name: familyName + givenName run together when either is Chinese
                   (张 + 小明 -> 张小明), else "givenName familyName".
                   enabledUser ``false`` imports the user as inactive.
                   agentSourcedIds: a student's guardians, or a guardian's students;
                   each pair, from either side, becomes one ``link`` record (after the
                   users, so both ends exist).
enrollments.csv    ``enrollment``: sourcedId, classSourcedId, userSourcedId, role
                   (student | teacher; others rejected), beginDate, endDate.
demographics.csv   not read (birth date, sex: not needed).
any file           status ``tobedeleted`` (delta files) -> a ``delete`` record: the
                   user, class, org or session is kept but made inactive (no access), an
                   enrollment is removed, a guardian's links are removed.
================== ====================================================================

Everything is idempotent by sourcedId: importing the same files again changes nothing.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator
from stdnum.cn import ric
from stdnum.exceptions import ValidationError as StdnumError

# file (without .csv) -> columns that must be in its header; the order files are imported in
FILES: dict[str, list[str]] = {
    "orgs": ["sourcedId", "name", "type"],
    "academicSessions": ["sourcedId", "title", "type", "startDate", "endDate"],
    "classes": ["sourcedId", "title", "schoolSourcedId"],
    "users": ["sourcedId", "role", "orgSourcedIds", "givenName", "familyName"],
    "enrollments": ["sourcedId", "classSourcedId", "userSourcedId", "role"],
}
GUARDIAN_ID_COLUMNS = ("metadata.idNumber", "identifier")
GUARDIAN_ROLES = {"guardian", "parent"}
USER_ROLES = {"student", "teacher", *GUARDIAN_ROLES}
ORG_TYPES = {"school", "district", "local", "state", "national", "department"}
SESSION_TYPES = {"schoolYear", "term", "semester", "gradingPeriod"}
CLASS_TYPES = {"homeroom", "scheduled"}

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_GRADE = re.compile(r"^[A-Za-z0-9]{1,8}$")
_YEAR = re.compile(r"^\d{4}$")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


class RosterRowError(ValueError):
    """A row that cannot become a record: the message is the reason shown to the user."""


def _sourced_id(value: str) -> str:
    if not isinstance(value, str):
        raise ValueError("must be text")
    if not value or len(value) > 128 or _CONTROL.search(value) or "," in value:
        raise ValueError("must be 1-128 characters, no commas or control characters")
    return value


SourcedId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f,]+$")]
Name = Annotated[str, Field(min_length=1, max_length=100)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    sourced_id: SourcedId


class OrgRecord(_Record):
    kind: Literal["org"] = "org"
    name: Annotated[str, Field(min_length=1, max_length=200)]
    type: Literal["school", "district", "local", "state", "national", "department"]
    identifier: str | None = Field(default=None, max_length=64)
    parent_id: SourcedId | None = None


class SessionRecord(_Record):
    kind: Literal["session"] = "session"
    title: Annotated[str, Field(min_length=1, max_length=200)]
    type: Literal["schoolYear", "term", "semester", "gradingPeriod"]
    start_date: date
    end_date: date
    school_year: str | None = Field(default=None, pattern=r"^\d{4}$")
    parent_id: SourcedId | None = None

    @model_validator(mode="after")
    def _starts_before_it_ends(self) -> "SessionRecord":
        if self.end_date < self.start_date:
            raise ValueError(f"endDate {self.end_date} is before startDate {self.start_date}")
        return self


class ClassRecord(_Record):
    kind: Literal["class"] = "class"
    title: Annotated[str, Field(min_length=1, max_length=200)]
    school_id: SourcedId
    class_type: Literal["homeroom", "scheduled"] = "scheduled"
    class_code: str | None = Field(default=None, max_length=64)
    grades: list[Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,8}$")]] = Field(default_factory=list, max_length=20)
    term_ids: list[SourcedId] = Field(default_factory=list, max_length=20)
    subjects: list[Annotated[str, Field(max_length=100)]] = Field(default_factory=list, max_length=20)


class StudentRecord(_Record):
    """Only what the e-schoolbag needs of a minor: no ID number, no contact, no birth date."""
    kind: Literal["student"] = "student"
    name: Name
    grade: str | None = Field(default=None, pattern=r"^[A-Za-z0-9]{1,8}$")
    school_ids: list[SourcedId] = Field(min_length=1, max_length=10)
    enabled: bool = True


class TeacherRecord(_Record):
    kind: Literal["teacher"] = "teacher"
    name: Name
    school_ids: list[SourcedId] = Field(min_length=1, max_length=10)
    enabled: bool = True


class GuardianRecord(_Record):
    """A guardian, already matched to a resident of the community service."""
    kind: Literal["guardian"] = "guardian"
    resident_id: SourcedId   # as the wallet takes it: no commas or control characters
    name: Name
    school_ids: list[SourcedId] = Field(min_length=1, max_length=10)
    enabled: bool = True


class EnrollmentRecord(_Record):
    kind: Literal["enrollment"] = "enrollment"
    class_id: SourcedId
    user_id: SourcedId
    role: Literal["student", "teacher"]
    begin_date: date | None = None
    end_date: date | None = None

    @model_validator(mode="after")
    def _begins_before_it_ends(self) -> "EnrollmentRecord":
        if self.begin_date and self.end_date and self.end_date < self.begin_date:
            raise ValueError(f"endDate {self.end_date} is before beginDate {self.begin_date}")
        return self


class LinkRecord(BaseModel):
    """Student <-> guardian (from users.csv agentSourcedIds, either side)."""
    model_config = ConfigDict(extra="forbid")
    kind: Literal["link"] = "link"
    student_id: SourcedId
    guardian_id: SourcedId


class DeleteRecord(_Record):
    """A ``tobedeleted`` row of a delta file."""
    kind: Literal["delete"] = "delete"
    file: Literal["orgs", "academicSessions", "classes", "users", "enrollments"]


RosterRecord = Annotated[Union[OrgRecord, SessionRecord, ClassRecord, StudentRecord, TeacherRecord,
                               GuardianRecord, EnrollmentRecord, LinkRecord, DeleteRecord],
                         Field(discriminator="kind")]
_RECORD = TypeAdapter(RosterRecord)


def parse_record(item: Any) -> BaseModel:
    """One record of an ``elearning.roster_import`` batch (raises pydantic's ValidationError)."""
    return _RECORD.validate_python(item)


class GuardianRow(BaseModel):
    """A guardian row before the import matched it to a resident: the only place the ID
    number is held, and only on the importing side."""
    model_config = ConfigDict(extra="forbid")
    sourced_id: str
    name: str
    school_ids: list[str]
    enabled: bool
    id_number: str

    def resolved(self, resident_id: str) -> GuardianRecord:
        return GuardianRecord(sourced_id=self.sourced_id, resident_id=resident_id, name=self.name,
                              school_ids=self.school_ids, enabled=self.enabled)


# --- helpers ---------------------------------------------------------------------------

def _get(row: dict, column: str) -> str:
    value = row.get(column)
    return unicodedata.normalize("NFC", value.strip()) if isinstance(value, str) else ""


def _list(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def _required(row: dict, column: str) -> str:
    value = _get(row, column)
    if not value:
        raise RosterRowError(f"{column} is empty")
    return value


def _id(row: dict, column: str) -> str:
    value = _required(row, column)
    try:
        return _sourced_id(value)
    except ValueError as exc:
        raise RosterRowError(f"{column} {exc}") from None


def _ids(row: dict, column: str, required: bool = True) -> list[str]:
    values = _list(_get(row, column))
    if required and not values:
        raise RosterRowError(f"{column} is empty")
    for v in values:
        try:
            _sourced_id(v)
        except ValueError as exc:
            raise RosterRowError(f"{column}: {v[:40]!r} {exc}") from None
    return values


def _date(row: dict, column: str, required: bool = True) -> date | None:
    value = _get(row, column)
    if not value:
        if required:
            raise RosterRowError(f"{column} is empty")
        return None
    try:
        if not re.match(r"^\d{4}-\d{2}-\d{2}(T|$)", value):
            raise ValueError(value)
        return date.fromisoformat(value[:10])
    except ValueError:
        raise RosterRowError(f"{column} is not a date (YYYY-MM-DD): {value[:40]!r}") from None


def _status(row: dict) -> str:
    status = _get(row, "status").lower()
    if status not in ("", "active", "tobedeleted"):
        raise RosterRowError(f"status must be active or tobedeleted (found {status[:20]!r})")
    return status


def _enabled(row: dict) -> bool:
    value = _get(row, "enabledUser").lower()
    if value in ("", "true", "1", "yes"):
        return True
    if value in ("false", "0", "no"):
        return False
    raise RosterRowError(f"enabledUser must be true or false (found {value[:20]!r})")


def _checked(model: type[BaseModel], **fields) -> BaseModel:
    from pydantic import ValidationError

    try:
        return model(**fields)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or '(row)'}: {e['msg']}" for e in exc.errors()[:3])
        raise RosterRowError(problems) from None


def display_name(given: str, family: str) -> str:
    """张 + 小明 -> 张小明; Ana + Lima -> Ana Lima."""
    given, family = given.strip(), family.strip()
    if _CJK.search(given) or _CJK.search(family):
        return family + given
    return " ".join(p for p in (given, family) if p)


def map_key(value: str) -> str:
    """A sourcedId made safe as a key of a stored map (no ``.``, no ``$``)."""
    return value.replace("%", "%25").replace(".", "%2E").replace("$", "%24")


def unmap_key(key: str) -> str:
    return key.replace("%24", "$").replace("%2E", ".").replace("%25", "%")


def guardian_id_number(row: dict) -> str:
    """The guardian's 18-digit resident ID number (normalised, checksum checked)."""
    raw = next((_get(row, c) for c in GUARDIAN_ID_COLUMNS if _get(row, c)), "")
    if not raw:
        raise RosterRowError("a guardian needs their resident ID number in metadata.idNumber or identifier")
    try:
        return ric.validate(raw)
    except StdnumError as exc:
        # the number itself is not repeated in the report
        raise RosterRowError(f"the guardian's resident ID number is invalid ({exc})") from None


# --- one row of each file -----------------------------------------------------------------

def _deleted(file: str, row: dict) -> DeleteRecord:
    return DeleteRecord(sourced_id=_id(row, "sourcedId"), file=file)


def map_org(row: dict) -> BaseModel:
    if _status(row) == "tobedeleted":
        return _deleted("orgs", row)
    org_type = _required(row, "type")
    if org_type not in ORG_TYPES:
        raise RosterRowError(f"type must be one of {', '.join(sorted(ORG_TYPES))} (found {org_type[:30]!r})")
    parent = _get(row, "parentSourcedId")
    return _checked(OrgRecord, sourced_id=_id(row, "sourcedId"), name=_required(row, "name"), type=org_type,
                    identifier=_get(row, "identifier") or None, parent_id=parent or None)


def map_session(row: dict) -> BaseModel:
    if _status(row) == "tobedeleted":
        return _deleted("academicSessions", row)
    kind = _required(row, "type")
    if kind not in SESSION_TYPES:
        raise RosterRowError(f"type must be one of {', '.join(sorted(SESSION_TYPES))} (found {kind[:30]!r})")
    start, end = _date(row, "startDate"), _date(row, "endDate")
    if end < start:
        raise RosterRowError("endDate is before startDate")
    year = _get(row, "schoolYear")
    if year and not _YEAR.match(year):
        raise RosterRowError(f"schoolYear must be a year like 2026 (found {year[:20]!r})")
    return _checked(SessionRecord, sourced_id=_id(row, "sourcedId"), title=_required(row, "title"), type=kind,
                    start_date=start, end_date=end, school_year=year or None,
                    parent_id=_get(row, "parentSourcedId") or None)


def map_class(row: dict) -> BaseModel:
    if _status(row) == "tobedeleted":
        return _deleted("classes", row)
    class_type = _get(row, "classType") or "scheduled"
    if class_type not in CLASS_TYPES:
        raise RosterRowError(f"classType must be homeroom or scheduled (found {class_type[:30]!r})")
    grades = _list(_get(row, "grades"))
    bad = [g for g in grades if not _GRADE.match(g)]
    if bad:
        raise RosterRowError(f"grades: {bad[0][:20]!r} is not a grade code (like 03 or KG)")
    return _checked(ClassRecord, sourced_id=_id(row, "sourcedId"), title=_required(row, "title"),
                    school_id=_id(row, "schoolSourcedId"), class_type=class_type,
                    class_code=_get(row, "classCode") or None, grades=grades,
                    term_ids=_ids(row, "termSourcedIds", required=False), subjects=_list(_get(row, "subjects")))


def map_user(row: dict) -> tuple[BaseModel, list[str]]:
    """(record, agentSourcedIds): a student, teacher, or a guardian still to be matched to a
    resident (``GuardianRow``), or a delete record."""
    sourced_id = _id(row, "sourcedId")
    if _status(row) == "tobedeleted":
        return DeleteRecord(sourced_id=sourced_id, file="users"), []
    role = _required(row, "role")
    if role not in USER_ROLES:
        raise RosterRowError(f"role {role[:30]!r} is not used by the e-schoolbag "
                             "(student, teacher, guardian or parent)")
    given, family = _get(row, "givenName"), _get(row, "familyName")
    if not (given or family):
        raise RosterRowError("givenName and familyName are both empty")
    name = display_name(given, family)
    schools = _ids(row, "orgSourcedIds")
    enabled = _enabled(row)
    agents = _ids(row, "agentSourcedIds", required=False)
    if role == "student":
        grades = _list(_get(row, "grades"))
        if grades and not _GRADE.match(grades[0]):
            raise RosterRowError(f"grades: {grades[0][:20]!r} is not a grade code (like 03 or KG)")
        return _checked(StudentRecord, sourced_id=sourced_id, name=name, grade=grades[0] if grades else None,
                        school_ids=schools, enabled=enabled), agents
    if role == "teacher":
        return _checked(TeacherRecord, sourced_id=sourced_id, name=name, school_ids=schools,
                        enabled=enabled), []
    _checked(TeacherRecord, sourced_id=sourced_id, name=name, school_ids=schools)  # same field checks
    return GuardianRow(sourced_id=sourced_id, name=name, school_ids=schools, enabled=enabled,
                       id_number=guardian_id_number(row)), agents


def map_enrollment(row: dict) -> BaseModel:
    if _status(row) == "tobedeleted":
        return _deleted("enrollments", row)
    role = _required(row, "role")
    if role not in ("student", "teacher"):
        raise RosterRowError(f"enrollment role {role[:30]!r} is not used by the e-schoolbag (student or teacher)")
    begin, end = _date(row, "beginDate", required=False), _date(row, "endDate", required=False)
    if begin and end and end < begin:
        raise RosterRowError("endDate is before beginDate")
    return _checked(EnrollmentRecord, sourced_id=_id(row, "sourcedId"), class_id=_id(row, "classSourcedId"),
                    user_id=_id(row, "userSourcedId"), role=role, begin_date=begin, end_date=end)


MAPPERS = {"orgs": map_org, "academicSessions": map_session, "classes": map_class, "enrollments": map_enrollment}
