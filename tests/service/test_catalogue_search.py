"""Catalogue search reads one row per search key and title (``title_keys``) and checks each
hit against the title itself; against the real store."""
import uuid

import pytest

from services.common import key_rows
from services.common.storage import ensure_indexes
from services.library import catalogue
from services.library import store as library_store


@pytest.fixture
def cat(db):
    database = db(f"catalogue_{uuid.uuid4().hex[:8]}")
    ensure_indexes(database, library_store.INDEXES)
    yield database
    database.client.drop_database(database.name)


def titles(db, text, limit=20):
    return [t["title_id"] for t in catalogue.search(db, text=text, isbn=None, limit=limit)]


def store(db, *records):
    assert catalogue.store_records(db, [{"copies": [], **r} for r in records])["stored"] == len(records)


def test_every_word_must_match_and_a_renamed_title_is_found_by_its_new_words_only(cat):
    store(cat, {"record_id": "t1", "title": "银河帝国：基地", "authors": ["阿西莫夫"]},
          {"record_id": "t2", "title": "罗马帝国衰亡史", "subjects": ["历史"]},
          {"record_id": "t3", "title": "Foundation and Empire", "authors": ["Isaac Asimov"]})
    assert titles(cat, "帝国") == ["t1", "t2"]
    assert titles(cat, "帝国 阿西莫夫") == ["t1"]
    assert titles(cat, "asimov empire") == ["t3"]
    assert titles(cat, "帝王") == [] and titles(cat, "量子") == []
    store(cat, {"record_id": "t1", "title": "神经漫游者", "authors": ["吉布森"]})   # the same record, renamed
    assert titles(cat, "帝国") == ["t2"] and titles(cat, "漫游") == ["t1"]
    assert not cat[library_store.TITLE_KEYS].find_one({"_id": "帝国|t1"})   # its old rows are gone


def test_a_match_past_the_first_rows_of_every_key_is_found(cat, monkeypatch):
    monkeypatch.setattr(key_rows, "FIRST_READ", 3)
    monkeypatch.setattr(key_rows, "PAGE", 2)
    store(cat, *[{"record_id": f"c{i:02d}", "title": f"中国历史第{i}卷", "subjects": ["历史"]} for i in range(10)],
          *[{"record_id": f"a{i}", "title": f"世界地图第{i}册"} for i in range(5)],
          {"record_id": "c99", "title": "中国历史地图", "subjects": ["地图"]})
    assert titles(cat, "中国 地图") == ["c99"]        # both keys have more than 3 titles; it is on the 2nd page
    assert titles(cat, "中国", limit=4) == ["c00", "c01", "c02", "c03"]
    assert len(titles(cat, "中国", limit=50)) == 11


def test_titles_stored_before_the_key_rows_are_found_once_they_are_built(cat):
    store(cat, {"record_id": "old-1", "title": "红楼梦"}, {"record_id": "old-2", "title": "西游记"})
    cat[library_store.TITLE_KEYS].delete_many({})   # as an earlier version left them
    assert titles(cat, "红楼") == []
    assert catalogue.build_keys(cat) == 2
    assert titles(cat, "红楼") == ["old-1"] and titles(cat, "西游") == ["old-2"]
    assert catalogue.build_keys(cat) is None       # once per database
