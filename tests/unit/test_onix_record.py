"""ONIX for Books 3.0 records as digital resources' title records (``suite import digital``),
without a broker or a store: reference and short tags, and records refused with what they lack."""
import pytest

from infra.imports import onix
from infra.imports.files import ImportFileError
from support.library import ONIX_RECORD as REFERENCE

SHORT = """<ONIXmessage release="3.0" xmlns="http://ns.editeur.org/onix/3.0/short"><product>
  <a001>sstp-7</a001><productidentifier><b221>15</b221><b244>9787532300007</b244></productidentifier>
  <descriptivedetail><titledetail><b202>01</b202><titleelement><b203>星空</b203></titleelement></titledetail>
  <contributor><b036>王星</b036></contributor></descriptivedetail></product></ONIXmessage>"""


def write(tmp_path, text: str):
    path = tmp_path / "record.xml"
    path.write_text(text, encoding="utf-8")
    return path


def test_reference_and_short_tags_read_alike(tmp_path):
    path = write(tmp_path, REFERENCE)
    assert onix.is_onix(path)
    assert onix.read_record(path) == {"record_id": "cn.sstp.2026.0042", "title": "海洋的秘密：写给孩子的科普",
                                      "authors": ["林海", "上海科技馆"], "subjects": ["海洋"], "isbn": "9787532312345",
                                      "language": "chi"}
    assert onix.read_record(write(tmp_path, SHORT)) == {"record_id": "sstp-7", "title": "星空", "authors": ["王星"],
                                                        "subjects": [], "isbn": "9787532300007"}


@pytest.mark.parametrize("text, words", [
    (REFERENCE.replace("<RecordReference>cn.sstp.2026.0042</RecordReference>", ""), "no RecordReference"),
    (REFERENCE.replace("<TitleText>海洋的秘密</TitleText><Subtitle>写给孩子的科普</Subtitle>", ""), "has no title"),
    ("<ONIXMessage release=\"3.0\"><Header/></ONIXMessage>", "no Product"),
    ("<ONIXMessage><Product>", "not well-formed"),
    ('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><ONIXMessage/>', "DOCTYPE"),
])
def test_a_bad_record_is_refused_saying_what_it_lacks(tmp_path, text, words):
    with pytest.raises(ImportFileError, match=words):
        onix.read_record(write(tmp_path, text))


def test_a_marcxml_file_is_not_taken_for_onix(tmp_path):
    assert not onix.is_onix(write(tmp_path, '<collection xmlns="http://www.loc.gov/MARC21/slim"><record/></collection>'))
