"""Digital resources' rules without a broker or a store: what bytes are, ranges, signed links."""
from datetime import datetime, timedelta, timezone

import pytest

from services.common.errors import BadInput, Forbidden
from services.library import digital

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("head, kind", [
    (b"ID3\x04\x00" + bytes(20), "audio/mpeg"), (b"\xff\xfb\x90\x64" + bytes(20), "audio/mpeg"),
    (b"\x00\x00\x00\x20ftypM4A \x00\x00\x02\x00", "audio/mp4"), (b"\x00\x00\x00\x20ftypmp42\x00", "video/mp4"),
    (b"\x00\x00\x00\x20ftypheic\x00", None), (b"%PDF-1.4", "application/pdf"), (b"GIF89a", None)])
def test_files_are_known_by_their_bytes(head, kind):
    assert digital.content_type_of(head) == kind


def test_a_file_named_or_declared_otherwise_than_its_bytes_is_refused():
    assert digital.check_file("a.mp3", "audio/mpeg", b"ID3" + bytes(10), 100).kind == "audio"
    for name, declared in (("a.pdf", "audio/mpeg"), ("a.mp3", "application/pdf"), ("a.m4a", "")):
        with pytest.raises(BadInput, match="mislabelled"):
            digital.check_file(name, declared, b"ID3" + bytes(10), 100)
    with pytest.raises(BadInput, match="at most 10 bytes"):
        digital.check_file("a.mp3", "audio/mpeg", b"ID3" + bytes(10), 10)


@pytest.mark.parametrize("header, expected", [
    (None, None), ("bytes=0-0", (0, 0)), ("bytes=10-", (10, 99)), ("bytes=90-500", (90, 99)), ("bytes=-5", (95, 99)),
    ("bytes=-500", (0, 99)), ("bytes=0-1,5-6", None), ("items=0-1", None)])
def test_ranges(header, expected):
    assert digital.byte_range(header, 100) == expected


@pytest.mark.parametrize("header", ["bytes=100-", "bytes=100-200", "bytes=-0", "bytes=5-4"])
def test_unsatisfiable_ranges(header):
    with pytest.raises(digital.Unsatisfiable):
        digital.byte_range(header, 100)


def test_a_link_reads_for_its_reader_until_it_expires():
    key = b"k" * 32
    link = digital.sign(key, "d-1", "r1", NOW)
    assert digital.verify(key, "d-1", "r1", link["expires"], link["sig"], NOW) == "r1"
    for args in (("d-2", "r1", link["expires"]), ("d-1", "r2", link["expires"]), ("d-1", "r1", link["expires"] + 1)):
        with pytest.raises(Forbidden, match="not a valid"):
            digital.verify(key, *args, link["sig"], NOW)
    with pytest.raises(Forbidden, match="not a valid"):
        digital.verify(b"x" * 32, "d-1", "r1", link["expires"], link["sig"], NOW)
    with pytest.raises(Forbidden, match="expired"):
        digital.verify(key, "d-1", "r1", link["expires"], link["sig"], NOW + timedelta(seconds=digital.LINK_SECONDS))
