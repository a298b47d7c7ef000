"""Popular-science sharing's rules without a broker or a store: what an upload may say, who
reviews, what may go on TV, the credential's check, a reader's cap on digital loans."""
from datetime import datetime, timezone

import pytest

from services.common.errors import BadInput, Conflict, Forbidden
from services.library import digital, popsci

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)
PROVIDER = {"_id": "sstm", "name": "上海科技馆"}
VIDEO = {"kind": "video", "title": "深海", "subjects": ["海洋"], "audience": ["elderly"], "tv_minutes": 20}
EDITOR = {"role": "editor", "id": "editor-1"}


@pytest.mark.parametrize("item, words", [
    ({**VIDEO, "status": "published"}, "status"),          # an upload cannot publish itself
    ({**VIDEO, "audience": []}, "audience"),
    ({**VIDEO, "place": "科技馆"}, "only an exhibition"),
    ({**VIDEO, "kind": "article"}, "only a video has a TV rendition"),
    ({"kind": "exhibition", "title": "展", "subjects": ["a"], "audience": ["children"]}, "needs starts_on"),
    ({**VIDEO, "licence": {"model": "rent"}}, "licence"),
])
def test_an_upload_says_only_what_its_kind_allows(item, words):
    with pytest.raises(BadInput, match=words):
        popsci.checked_item(item)


def test_the_file_matches_the_kind():
    video = popsci.checked_item(VIDEO)
    popsci.check_file_kind(video, True, "video/mp4")
    for has_file, content_type in ((True, "application/pdf"), (False, None)):
        with pytest.raises(BadInput):
            popsci.check_file_kind(video, has_file, content_type)


def test_only_an_editor_reviews_what_waits_and_places_what_has_a_tv_rendition():
    item = popsci.new_item("ps-1", PROVIDER, popsci.checked_item(VIDEO),
                           {"name": "a.mp4", "content_type": "video/mp4", "size": 10}, NOW)
    assert item["status"] == "pending" and popsci.item_view(item)["resource_id"] is None
    for actor in ({"role": "provider", "id": "sstm"}, {"role": "librarian", "id": "l"}, None, {"role": "editor"}):
        with pytest.raises(Forbidden):
            popsci.may_review(actor, item)
    popsci.may_review(EDITOR, item)
    with pytest.raises(Conflict):
        popsci.checked_placement(EDITOR, item, {"channel": "区教育台", "starts_at": "2026-12-09T19:30"})
    published = {**item, "status": "published"}
    with pytest.raises(Conflict):
        popsci.may_review(EDITOR, published)
    assert popsci.checked_placement(EDITOR, published, {"channel": "区教育台", "starts_at": "2026-12-09T19:30"})
    with pytest.raises(BadInput):
        popsci.checked_placement(EDITOR, published, {"channel": "区教育台", "starts_at": "2026-12-09 19:30+08:00"})
    with pytest.raises(BadInput, match="reason"):
        popsci.checked_review({"decision": "reject"})


def test_a_credential_holds_only_for_a_live_provider_with_its_key():
    popsci.may_upload(PROVIDER, True)
    for provider, ok in ((None, True), ({**PROVIDER, "revoked_at": NOW.isoformat()}, True), (PROVIDER, False)):
        with pytest.raises(Forbidden):
            popsci.may_upload(provider, ok)


def test_a_reader_holds_at_most_the_cap_of_digital_loans():
    digital.within_cap(4, 5)
    with pytest.raises(Conflict, match="return one first"):
        digital.within_cap(5, 5)
