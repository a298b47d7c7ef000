"""MARC 21 records to catalogue titles: the mapping, the encodings, and reading past bad records."""
from __future__ import annotations

import io

import pytest
from pymarc import Field, Indicators, Record, Subfield, XMLWriter
from pymarc.marc8_mapping import CODESETS

from contracts.rpc.library import TitleRecordV1
from infra.imports.marc import (
    MarcMappingError,
    binary_records,
    count_records,
    record_to_title,
    xml_records,
)

BOOK = "00000nam a2200000 a 4500"


def sf(*pairs: str) -> list[Subfield]:
    """sf("a", "x", "b", "y") -> subfields $a x $b y"""
    return [Subfield(code, value) for code, value in zip(pairs[::2], pairs[1::2])]


def df(tag: str, *pairs: str, ind: str = "  ") -> Field:
    return Field(tag=tag, indicators=Indicators(*ind), subfields=sf(*pairs))


def cf(tag: str, data: str) -> Field:
    return Field(tag=tag, data=data)


def f008(lang: str = "chi") -> Field:
    return cf("008", "240101s2008    cc            000 1 " + lang + " d")


def record(*fields: Field, leader: str = BOOK) -> Record:
    r = Record(leader=leader)
    for f in fields:
        r.add_field(f)
    return r


def chinese_record() -> Record:
    return record(
        cf("001", "CN-0001"), f008("chi"),
        df("020", "a", "978-7-5366-9293-0 (平装) :", "c", "CNY23.00"),
        df("100", "a", "刘慈欣,", "e", "著", ind="1 "),
        df("245", "a", "三体.", "n", "第二部,", "p", "黑暗森林 /", "c", "刘慈欣著.", ind="10"),
        df("650", "a", "科幻小说", "z", "中国", "y", "当代.", ind=" 7"),
        df("852", "a", "SHDL", "b", "MAIN", "p", "C1000001"),
        df("852", "a", "SHDL", "b", "K-001", "p", "C1000002"),
    )


def test_chinese_record_maps_to_a_valid_title():
    title = record_to_title(chinese_record())
    assert title == {
        "record_id": "CN-0001", "isbn": "9787536692930", "title": "三体. 第二部, 黑暗森林",
        "authors": ["刘慈欣"], "subjects": ["科幻小说 -- 中国 -- 当代"], "language": "chi",
        "material_type": "book",
        "copies": [{"barcode": "C1000001", "home_location": "MAIN"}, {"barcode": "C1000002", "home_location": "K-001"}],
    }
    TitleRecordV1.model_validate(title)


def test_isbn_10_and_13_normalised_and_an_invalid_one_dropped_with_a_note():
    def isbn_of(*values):
        notes = []
        t = record_to_title(record(cf("001", "i1"), *(df("020", "a", v) for v in values), df("245", "a", "T")), notes)
        return t["isbn"], notes
    assert isbn_of("0-306-40615-2") == ("0306406152", [])
    assert isbn_of("080442957x (pbk.)") == ("080442957X", [])
    assert isbn_of("978 7 02 000220 7") == ("9787020002207", [])
    isbn, notes = isbn_of("9787536692931")
    assert isbn is None and notes == ["invalid ISBN '9787536692931' in 020 $a dropped"]
    isbn, notes = isbn_of("12345 :", "7536692935")   # the first valid one counts
    assert isbn == "7536692935" and len(notes) == 1


def test_record_id_falls_back_to_035_and_without_either_the_record_is_rejected():
    no_001 = record(df("035", "a", "(OCoLC)ocm12345678"), df("245", "a", "Foundation /"))
    assert record_to_title(no_001)["record_id"] == "OCoLC:ocm12345678"
    with pytest.raises(MarcMappingError, match="no control number"):
        record_to_title(record(df("245", "a", "Foundation")))
    with pytest.raises(MarcMappingError, match="not usable as a record id"):
        record_to_title(record(cf("001", "a b/c"), df("245", "a", "Foundation")))
    with pytest.raises(MarcMappingError, match="no title"):
        record_to_title(record(cf("001", "x1"), df("245", "c", "only a statement of responsibility")))


def test_isbd_punctuation_names_and_corporate_bodies():
    t = record_to_title(record(
        cf("001", "p1"), f008("eng"),
        df("100", "a", "Asimov, Isaac,", "d", "1920-1992."),
        df("245", "a", "Foundation =", "b", "Ji di :", "c", "Isaac Asimov."),
        df("700", "a", "Smith, J."), df("700", "a", "Asimov, Isaac."),
        df("710", "a", "Shanghai (China).", "b", "Education Committee."),
        df("651", "a", "China", "x", "History", "y", "1949-."),
    ))
    assert t["title"] == "Foundation = Ji di"
    assert t["authors"] == ["Asimov, Isaac", "Smith, J", "Shanghai (China). Education Committee"]
    assert t["subjects"] == ["China -- History -- 1949-"]
    assert t["language"] == "eng"


def test_vernacular_880_is_used_for_romanised_cjk_records():
    t = record_to_title(record(
        cf("001", "v1"),
        df("100", "a", "Liu, Cixin,", "6", "880-01"),
        df("245", "a", "San ti /", "c", "Liu Cixin zhu.", "6", "880-02"),
        df("880", "6", "100-01/$1", "a", "刘慈欣,"),
        df("880", "6", "245-02/$1", "a", "三体 /", "c", "刘慈欣著."),
    ))
    assert (t["title"], t["authors"]) == ("三体", ["刘慈欣"])


@pytest.mark.parametrize("leader67,expected", [("am", "book"), ("as", "periodical"), ("gm", "av"), ("jm", "av"),
                                               ("im", "av"), ("em", "other"), ("ac", "other"), ("tm", "other")])
def test_material_type_from_leader(leader67, expected):
    leader = BOOK[:6] + leader67 + BOOK[8:]
    assert record_to_title(record(cf("001", "m1"), df("245", "a", "T"), leader=leader))["material_type"] == expected


def test_language_from_008_then_041_else_chi():
    def lang(*fields):
        return record_to_title(record(cf("001", "l1"), df("245", "a", "T"), *fields))["language"]
    assert lang(f008("jpn")) == "jpn"
    assert lang(f008("   "), df("041", "a", "eng", "a", "chi")) == "eng"
    assert lang(f008("und")) == "chi"
    assert lang() == "chi"


def test_holdings_kinds_of_koha_952_and_852():
    notes = []
    t = record_to_title(record(
        cf("001", "h1"), df("245", "a", "T"),
        df("952", "a", "B-FL", "b", "MAIN", "p", "300001", "o", "I247.5/12"),
        df("952", "b", "B-LH", "p", "300002"),                  # no home branch: the holding branch
        df("952", "a", "MAIN", "p", "300003", "0", "1"),       # withdrawn
        df("952", "a", "MAIN", "p", "300004", "1", "2"),       # lost
        df("852", "a", "MAIN", "h", "I247.5"),                 # a holdings statement, no item
        df("852", "a", "B-LH", "p", "300005"),                 # no sublocation: $a
        df("852", "b", "B-LH", "p", "300005"),                 # the same copy twice
    ), notes)
    assert t["copies"] == [{"barcode": "300001", "home_location": "B-FL"},
                           {"barcode": "300002", "home_location": "B-LH"},
                           {"barcode": "300005", "home_location": "B-LH"}]
    assert notes == ["952 item 300003 is withdrawn: left out", "952 item 300004 is lost: left out",
                     "852 without a barcode ($p) at MAIN: left out"]


@pytest.mark.parametrize("holding,reason", [
    (("852", "b", "MAIN", "p", "B 12"), "barcode 'B 12' is not valid"),
    (("952", "a", "MAIN", "p", "条码1"), "barcode '条码1' is not valid"),
    (("952", "a", "总馆", "p", "B13"), "location '总馆' of barcode B13 is not a valid location code"),
    (("852", "h", "I247", "p", "B14"), "barcode B14 has no location"),
])
def test_bad_barcodes_and_locations_reject_the_record(holding, reason):
    with pytest.raises(MarcMappingError, match=reason):
        record_to_title(record(cf("001", "b1"), df("245", "a", "T"), df(*holding)))


def test_one_barcode_at_two_locations_and_non_bibliographic_records_are_rejected():
    with pytest.raises(MarcMappingError, match="two locations"):
        record_to_title(record(cf("001", "d1"), df("245", "a", "T"),
                               df("852", "b", "MAIN", "p", "X1"), df("952", "a", "K-002", "p", "X1")))
    with pytest.raises(MarcMappingError, match="holdings record"):
        record_to_title(record(cf("001", "y1"), df("852", "b", "MAIN", "p", "X1"), leader="00000ny  a2200000 a 4500"))


def reader_of(data: bytes) -> io.BufferedReader:
    return io.BufferedReader(io.BytesIO(data))


def marc8_record() -> bytes:
    """A MARC-8 record (leader/09 blank) as cataloguing systems write it: Chinese in EACC
    between escape sequences, a Latin diacritic in ANSEL before its letter."""
    eacc = {u: code for code, (u, _) in CODESETS[0x31].items()}
    chinese = b"\x1b$1" + b"".join(eacc[ord(c)].to_bytes(3, "big") for c in "三体") + b"\x1b(B"
    r = record(cf("001", "m8-1"), leader="00000nam  2200000 a 4500")
    r.to_unicode = False                   # else pymarc writes UTF-8 and sets leader/09 'a'
    # pymarc writes a MARC-8 record's text as ISO 8859-1: latin-1 strings carry the bytes unchanged
    r.add_field(df("245", "a", (chinese + b" /").decode("latin-1"), "c", b"Caf\xe2e.".decode("latin-1")))
    r.add_field(df("100", "a", b"Caf\xe2e, Jos\xe2e.".decode("latin-1")))
    data = r.as_marc()
    assert data[9:10] == b" " and b"\x1b$1" in data
    return data


def test_utf8_marc8_and_mislabelled_utf8_binary_records_all_read_as_unicode():
    utf8 = chinese_record()
    utf8.leader = utf8.leader[:9] + "a" + utf8.leader[10:]
    mislabelled = chinese_record()
    mislabelled.leader = mislabelled.leader[:9] + " " + mislabelled.leader[10:]
    mislabelled.to_unicode, mislabelled.force_utf8 = False, True   # written as UTF-8, leader/09 still blank
    raw_mislabelled = mislabelled.as_marc()
    assert raw_mislabelled[9:10] == b" "
    out = list(binary_records(reader_of(utf8.as_marc() + marc8_record() + raw_mislabelled)))
    assert [(n, why) for n, _, why in out] == [(1, None), (2, None), (3, None)]
    titles = [record_to_title(r) for _, r, _ in out]
    assert titles[0]["title"] == titles[2]["title"] == "三体. 第二部, 黑暗森林"
    assert titles[1]["title"] == "三体" and titles[1]["authors"] == ["Café, José"]


def test_broken_binary_records_are_skipped_with_a_reason_and_reading_goes_on():
    good = [chinese_record() for _ in range(3)]
    for i, r in enumerate(good):
        r["001"].data = f"g{i}"
    a, b, c = (r.as_marc() for r in good)
    not_a_length = b"abcde-garbage-\x1e\x1d"
    bad_utf8 = bytearray(b)
    bad_utf8[bad_utf8.index("三".encode())] = 0xFF       # leader/09 'a' but not UTF-8
    wrong_length = b"99999" + c[5:]                     # claims more than there is, mid-file
    data = a + b"\r\n" + not_a_length + bytes(bad_utf8) + wrong_length + a[:-1].replace(b"g0", b"g9") + b"\x1d"
    out = list(binary_records(reader_of(data)))
    assert [n for n, r, _ in out if r is not None] == [1, 5]
    reasons = {n: why for n, r, why in out if r is None}
    assert set(reasons) == {2, 3, 4}
    assert "record length" in reasons[2].lower() and "UTF-8" in reasons[3]
    assert out[-1][1]["001"].data == "g9"
    assert count_records_of(data) == 5


def count_records_of(data: bytes, suffix: str = ".mrc") -> int:
    import tempfile
    from pathlib import Path
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / ("f" + suffix)
        p.write_bytes(data)
        return count_records(p)


def marcxml(records: list[Record]) -> bytes:
    buf = io.BytesIO()
    writer = XMLWriter(buf)
    for r in records:
        writer.write(r)
    writer.close(close_fh=False)
    return buf.getvalue()


def test_marcxml_streams_chinese_and_skips_a_malformed_record():
    rs = [chinese_record() for _ in range(3)]
    for i, r in enumerate(rs):
        r["001"].data = f"x{i}"
    data = marcxml(rs).replace(b'<controlfield tag="001">x1<', b'<controlfield>x1<', 1)
    assert data.count(b"<controlfield>x1<") == 1
    out = list(xml_records(reader_of(data)))
    assert [(n, r is not None) for n, r, _ in out] == [(1, True), (2, False), (3, True)]
    assert "unreadable record" in out[1][2]
    assert record_to_title(out[2][1])["title"] == "三体. 第二部, 黑暗森林"
    assert count_records_of(data, ".xml") == 3


def test_marcxml_that_stops_being_xml_ends_with_a_reason():
    data = marcxml([chinese_record(), chinese_record()])
    cut = data.rindex(b"<record")
    out = list(xml_records(reader_of(data[:cut] + b"<record><leader>oops</record>")))
    assert [n for n, r, _ in out if r is not None] == [1]
    assert out[-1][0] == 2 and "not well-formed XML" in out[-1][2]
