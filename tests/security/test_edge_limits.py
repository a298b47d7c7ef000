"""Limits at the edges, each refused with a clear error and nothing crashed: request bodies
(also sent chunked, without a Content-Length), query length, page sizes, SIP2 messages that
never end, import files over the size limit.

Depth and cost limits are proven in tests/integration/test_gateway_limits.py, a SIP2 message
a little over its limit in tests/service/test_sip2.py: not repeated here.
"""
import socket
import uuid

import pytest
import requests

from support import free_port
from gateway.service import MAX_BODY
from hostile_suite import codes, driver, suite  # noqa: F401  (fixtures)
from infra.imports import community as community_import
from infra.imports import marc as marc_import
from infra.imports import roster as roster_import
from infra.imports.files import ImportFileError
from services.library.service import LibraryService
from support import id_number


def chunks(total: int, size: int = 64 * 1024):
    """A JSON body of ``total`` bytes, sent in chunks (requests then sends no Content-Length)."""
    head, tail = b'{"query": "{ matters { code } }", "pad": "', b'"}'
    left = total - len(head) - len(tail)
    yield head
    while left > 0:
        n = min(size, left)
        yield b"x" * n
        left -= n
    yield tail


def test_an_oversized_body_is_refused_with_or_without_a_content_length(suite):
    big = b'{"query": "{ matters { code } }", "pad": "' + b"x" * MAX_BODY + b'"}'
    said = requests.post(suite.url, data=big, headers={"Content-Type": "application/json"}, timeout=20)
    assert said.status_code == 413 and codes(said.json()) == ["BAD_USER_INPUT"]
    assert "too large" in said.json()["errors"][0]["message"]

    # Without a Content-Length werkzeug hands over an empty stream (eventlet does not mark a
    # chunked body as delimited), so such a body is never read into memory: it is refused
    # with a clear error instead of the misleading "a query is required".
    for size in (MAX_BODY * 3, 4096):
        chunked = requests.post(suite.url, data=chunks(size), headers={"Content-Type": "application/json"},
                                timeout=20)
        assert chunked.request.headers.get("Transfer-Encoding") == "chunked"
        assert "Content-Length" not in chunked.request.headers
        assert chunked.status_code == 411 and codes(chunked.json()) == ["BAD_USER_INPUT"]
        assert "Content-Length" in chunked.json()["errors"][0]["message"]
    assert suite.ask("{ matters { code } }")["data"]["matters"]                 # and the gateway lives on


def test_an_oversized_console_form_is_refused_and_a_chunked_one_is_not_read(suite):
    base = suite.url.rsplit("/", 1)[0]
    form = (b"login=a&password=" + b"p" * 100_000 for _ in range(1))
    r = requests.post(base + "/console/login", data=form, allow_redirects=False, timeout=20,
                      headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    # not read at all (see above): an empty form, so its CSRF check fails; nobody is signed in
    assert r.status_code in (403, 411, 413) and "console_session" not in r.cookies
    assert "Traceback" not in r.text
    over = requests.post(base + "/console/login", data={"login": "a", "password": "p" * 100_000},
                         allow_redirects=False, timeout=20)
    assert over.status_code == 413 and "过大" in over.text


def test_an_overlong_query_is_refused_before_parsing(suite):
    query = "{ matters { code } }" + " " * 100_001
    r = suite.post(query)
    assert r.status_code == 400 and codes(r.json()) == ["BAD_USER_INPUT"] and "too long" in r.text


def test_page_sizes_are_clamped(suite, rpc):
    word = "pg" + uuid.uuid4().hex[:8]
    stored = rpc.library.import_catalogue([
        {"record_id": f"{word}-{i}", "title": f"{word} 第{i}册", "authors": ["某"],
         "copies": [{"barcode": f"PG{uuid.uuid4().hex[:10]}", "home_location": "MAIN"}]} for i in range(60)])
    assert stored == {"stored": 60, "rejected": []}
    found = suite.ask('query($n: Int) { catalogue(text: "%s", first: $n) { id } }' % word, {"n": 100_000})
    assert "errors" not in found and len(found["data"]["catalogue"]) == 50      # the most a page holds
    assert len(suite.ask('{ catalogue(text: "%s", first: -5) { id } }' % word)["data"]["catalogue"]) == 1
    # an explicit null is the default page, not a crash
    assert len(suite.ask('{ catalogue(text: "%s", first: null) { id } }' % word)["data"]["catalogue"]) == 20
    # a literal page size counts in the query's cost and is refused before it runs...
    assert codes(suite.ask("{ staffQueue(first: 100000) { nextCursor } }", token=suite.token("staff"))) == [
        "QUERY_TOO_COMPLEX"]
    # ...one in a variable is not known then, and is clamped by the resolver
    queue = suite.ask("query($n: Int) { staffQueue(first: $n) { cases { id } } }", {"n": 100_000},
                      token=suite.token("staff"))
    assert "errors" not in queue, queue
    notices = suite.ask("{ me { notices(limit: null) { kind } } }", token=suite.token("resident"))
    assert "errors" not in notices, notices
    # past a 32-bit integer GraphQL itself refuses, with a code
    assert "GRAPHQL_VALIDATION_FAILED" in codes(suite.ask('{ catalogue(text: "x", first: 99999999999) { id } }'))
    assert codes(suite.ask('query($n: Int) { catalogue(text: "x", first: $n) { id } }', {"n": 2 ** 40})) == [
        "BAD_USER_INPUT"]


def test_a_sip2_message_that_never_ends_is_refused_once_and_the_session_goes_on(start_service, service_config):
    port = free_port()
    library = start_service(LibraryService, service_config("library", SIP2_PORT=port))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(b"9900302.00")                  # starts like a status request...
        for _ in range(64):                           # ...and goes on for 4 MiB without a carriage return
            sock.sendall(b"A" * 65536)
        sock.sendall(b"\r9900302.00\r")
        answers, buf = [], b""
        while len(answers) < 2:
            chunk = sock.recv(4096)
            assert chunk, f"the connection was closed after {answers}"
            buf += chunk
            *done, buf = buf.split(b"\r")
            answers += done
        library.stop()                                # with the machine still connected
        assert sock.recv(4096) == b""                 # its connection is closed, the stop went through
    assert answers[0] == b"96"                        # refused once, not once per 4 KiB read
    assert answers[1].startswith(b"98")               # and the next message is answered


@pytest.fixture
def small_imports(monkeypatch):
    monkeypatch.setenv("SUITE_IMPORT_MAX_BYTES", "2000")


def test_an_import_file_over_the_limit_is_refused_before_anything_is_sent(small_imports, tmp_path, rpc, db):
    number = id_number()
    rows = ["id_number,name,phone,registered_committee,residence_committee,address",
            f"{number},超限,13800000001,C0101,C0101,龙华路1号"] + ["# padding"] * 300
    residents = tmp_path / "residents.csv"
    residents.write_text("\n".join(rows) + "\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="SUITE_IMPORT_MAX_BYTES"):
        community_import.import_residents(rpc, residents)
    places = tmp_path / "places.json"
    places.write_text("[" + ",".join(['{"code": "X", "kind": "committee", "name": "x"}'] * 100) + "]")
    with pytest.raises(ImportFileError, match="over the import limit"):
        community_import.import_places(rpc, places)
    catalogue = tmp_path / "catalogue.mrc"
    catalogue.write_bytes(b"0" * 5000)
    with pytest.raises(ImportFileError, match="over the import limit"):
        marc_import.import_marc(rpc, catalogue)
    roster_dir = tmp_path / "roster"
    roster_dir.mkdir()
    (roster_dir / "orgs.csv").write_text("sourcedId,status,dateLastModified,name,type,identifier,parentSourcedId\n"
                                         + "o1,active,,学校,school,,\n" * 100, encoding="utf-8")
    with pytest.raises(ImportFileError, match="over the import limit"):
        roster_import.import_roster(rpc, roster_dir)
    assert db("community").residents.find_one({"id_number": number}) is None
