"""Imports, as `suite import` runs them against running services: residents CSV (community),
MARC 21 records (library; generated with pymarc) and OneRoster 1.1 CSV rows (elearning;
guardians matched to the residents just imported), at two file sizes. Rows per second
against the raw insert rate of as many small documents into the same store (the baseline,
same run), and the importing process's peak resident set size, which should not grow
with the file.

    python -m bench.bench_imports [--rows 10000 100000] [--kinds residents marc roster]
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import pymongo
from nameko.standalone.rpc import ClusterRpcProxy
from pymarc import Field, Indicators, Record, Subfield
from stdnum.cn import ric

from bench.common import machine
from bench.suite_processes import profiled, running_suite, wait_quiet
from infra.imports import community as community_import
from infra.kiosk.simulator import chinese_numeral
from infra.local import demo_data

TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))
from support.school_data import USERS_HEADER  # noqa: E402

COMMITTEES = [p["code"] for p in demo_data.PLACES if p["kind"] == "committee"]
LOCATIONS = [loc["code"] for loc in demo_data.LOCATIONS]


# ---- files ------------------------------------------------------------------------------------

def id_number(i: int) -> str:
    """The i-th resident's ID number: unique up to 36 million (a birth day per thousand)."""
    body = "310104" + (date(1940, 1, 1) + timedelta(days=i // 1000)).strftime("%Y%m%d") + f"{i % 1000:03d}"
    return body + ric.calc_check_digit(body + "0")


def write_residents(path: Path, rows: int, seed: int = 3) -> None:
    rng = random.Random(seed)
    with open(path, "w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(community_import.RESIDENT_COLUMNS)
        for i in range(rows):
            out.writerow([id_number(i), "居民" + chinese_numeral(i), f"138{i:08d}", rng.choice(COMMITTEES), rng.choice(COMMITTEES),
                          f"某路{i}号"])


def _df(tag: str, *pairs: str) -> Field:
    return Field(tag=tag, indicators=Indicators(" ", " "),
                 subfields=[Subfield(c, v) for c, v in zip(pairs[::2], pairs[1::2])])


def write_marc(path: Path, rows: int, tag: str) -> None:
    """Binary MARC 21: a Chinese title, an author, a subject and one copy at a demo location."""
    with open(path, "wb") as f:
        for i in range(rows):
            r = Record(leader="00000nam a2200000 a 4500", force_utf8=True)
            r.add_field(Field(tag="001", data=f"{tag}-{i}"))
            r.add_field(Field(tag="008", data="240101s2020    cc            000 1 chi d"))
            r.add_field(_df("100", "a", f"作者{i % 997},"))
            r.add_field(_df("245", "a", f"社区读本 第{i}册 /", "c", "编者."))
            r.add_field(_df("650", "a", f"主题{i % 101}"))
            r.add_field(_df("852", "b", LOCATIONS[i % len(LOCATIONS)], "p", f"{tag}B{i}"))
            f.write(r.as_marc())


def roster_shape(rows: int) -> dict[str, int]:
    """How ``rows`` rows split over the files: a tenth guardians, two pupils each, the rest
    enrolments (each pupil in a few classes)."""
    classes = max(4, rows // 200)
    guardians = rows // 10
    students = 2 * guardians
    return {"orgs": 2, "academicSessions": 1, "classes": classes, "guardians": guardians, "students": students,
            "enrollments": rows - 3 - classes - guardians - students}


def write_roster(folder: Path, rows: int, tag: str) -> None:
    """A OneRoster 1.1 CSV export of one school; guardian k is resident k (``id_number(k)``)."""
    n = roster_shape(rows)
    school, term = f"sch-{tag}", f"term-{tag}"

    def table(name, header, body):
        with open(folder / f"{name}.csv", "w", encoding="utf-8", newline="") as f:
            out = csv.writer(f)
            out.writerow(header.split(","))
            out.writerows(body)

    (folder / "manifest.csv").write_text("propertyName,value\nmanifest.version,1.0\noneroster.version,1.1\n"
                                         "file.demographics,absent\n", encoding="utf-8")
    table("orgs", "sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId",
          [[f"dist-{tag}", "", "", "浦东新区教育局", "district", "", ""],
           [school, "", "", "梅园小学", "school", "XH-001", f"dist-{tag}"]])
    table("academicSessions", "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,"
          "schoolYear", [[term, "", "", "2026学年第一学期", "semester", "2026-09-01", "2027-01-20", "", "2027"]])
    table("classes", "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,classType,location,"
          "schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods",
          [[f"c-{tag}-{c}", "", "", f"班级{c}", "03", "", f"3-{c}", "scheduled", "", school, term, "", "", ""]
           for c in range(n["classes"])])
    students = [f"u-{tag}-{s}" for s in range(n["students"])]
    users = [[sid, "", "", "true", school, "student", "", "", f"小{s}", "张", "", "", "", "", "", "", "03", "", ""]
             for s, sid in enumerate(students)]
    users += [[f"g-{tag}-{g}", "", "", "true", school, "guardian", "", "", f"名{g}", "王", "", "", "", "", "",
               f"{students[2 * g]},{students[2 * g + 1]}", "", "", id_number(g)] for g in range(n["guardians"])]
    table("users", USERS_HEADER, users)
    table("enrollments", "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,userSourcedId,role,"
          "primary,beginDate,endDate",
          [[f"e-{tag}-{k}", "", "", f"c-{tag}-{(k % len(students) + k // len(students)) % n['classes']}", school,
            students[k % len(students)], "student", "", "", ""] for k in range(n["enrollments"])])


# ---- running ------------------------------------------------------------------------------------

def import_in_child(amqp_uri: str, kind: str, path: Path) -> dict:
    env = {**os.environ, "AMQP_URI": amqp_uri, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run([sys.executable, "-m", "bench.import_child", kind, str(path)], env=env,
                          capture_output=True, text=True, timeout=7200)
    if done.returncode != 0:
        raise RuntimeError(f"{kind} import failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def raw_insert_seconds(mongo_uri: str, rows: int) -> float:
    """The baseline: as many small documents, insert_many in batches of 500 (as the
    importers send them), into a database of its own on the same store."""
    client = pymongo.MongoClient(mongo_uri)
    name = f"benchraw{uuid.uuid4().hex[:6]}"
    try:
        raw = client[name]["residents"]
        docs = [{"_id": uuid.uuid4().hex, "id_number": str(i), "name": "x", "outbox": {}} for i in range(rows)]
        started = time.perf_counter()
        for i in range(0, rows, 500):
            raw.insert_many(docs[i:i + 500])
        return time.perf_counter() - started
    finally:
        client.drop_database(name)
        client.close()


def run(rows: int, kinds: list[str]) -> list[dict]:
    out = []
    with running_suite("benchimp", {"community": 1, "library": 1, "elearning": 1}) as suite, \
            tempfile.TemporaryDirectory() as tmp, \
            ClusterRpcProxy({"AMQP_URI": suite.amqp_uri}, timeout=60) as rpc:
        rpc.community.upsert_places(demo_data.PLACES)
        rpc.library.upsert_locations(demo_data.LOCATIONS)
        tag = uuid.uuid4().hex[:6]
        files = {"residents": Path(tmp) / "residents.csv", "marc": Path(tmp) / "catalogue.mrc",
                 "roster": Path(tmp) / "roster"}
        for kind in kinds:
            started = time.perf_counter()
            if kind == "residents" or (kind == "roster" and "residents" not in kinds):
                write_residents(files["residents"], rows)
            if kind == "marc":
                write_marc(files["marc"], rows, tag)
            if kind == "roster":
                if "residents" not in kinds:   # its guardians must be residents
                    import_in_child(suite.amqp_uri, "residents", files["residents"])
                    wait_quiet(suite)
                files["roster"].mkdir()
                write_roster(files["roster"], rows, tag)
            made = time.perf_counter() - started
            wait_quiet(suite)   # e.g. the library making patrons of the residents just imported
            base = raw_insert_seconds(suite.mongo_uri, rows)
            with profiled(suite, f"import-{kind}-{rows}"):
                got = import_in_child(suite.amqp_uri, kind, files[kind])
                after = wait_quiet(suite)   # the events it caused, taken by every service
            out.append({"kind": kind, "rows": rows, "where": suite.where, "made": made, "raw": base,
                        "settled": got["seconds"] + after, **got})
            print(line(out[-1]), flush=True)
    return out


def line(r: dict) -> str:
    return (f"{r['kind']:<9} {r['rows']:>7,} rows: {r['rows'] / r['seconds']:7,.0f} rows/s, raw insert_many "
            f"{r['rows'] / r['raw']:7,.0f} docs/s = {r['seconds'] / r['raw']:5.1f} x the raw insert time; all its "
            f"events taken {r['settled']:.1f} s after it began ({r['rows'] / r['settled']:,.0f} rows/s); imported "
            f"{r['imported']:,}, rejected {r['rejected']:,}; importer RSS {r['rss_before']:.0f} MiB at start, peak "
            f"{r['rss_peak']:.0f} MiB (+{r['rss_peak'] - r['rss_before']:.0f}); file made in {r['made']:.0f} s"
            + (f"\n    rejections: {r['first_rejections']}" if r["rejected"] else ""))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--kinds", nargs="+", default=["residents", "marc", "roster"],
                        choices=["residents", "marc", "roster"])
    args = parser.parse_args()
    print(f"\nimports through the running services; {machine()}")
    rows = []
    for n in args.rows:
        rows += run(n, args.kinds)
    print("\nsummary:")
    for r in rows:
        print("  " + line(r).split(";")[0] + f"; peak RSS +{r['rss_peak'] - r['rss_before']:.0f} MiB")
    return 1 if any(r["rejected"] for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
