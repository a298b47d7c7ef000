"""A resident's overview (``services.common.overview``): the parts asked, checked against their
contract, each computed alone, a part's error kept for that part."""
import pymongo
import pytest
from nameko.exceptions import RemoteError, deserialize
from pydantic import ValidationError

from contracts.rpc.community import CommunityOverviewPartsV1
from services.common import overview
from services.common.arguments import checked_resident_id
from services.common.errors import BadInput, Forbidden
from services.common.rpc import translate


def test_only_the_parts_asked_are_computed_with_their_options():
    computed = []

    def part(name):
        def compute(**options):
            computed.append((name, options))
            return name
        return compute

    parts = overview.asked({"profile": {}, "notices": {"limit": 5}}, CommunityOverviewPartsV1)
    assert parts == {"profile": {}, "notices": {"limit": 5}}
    assert overview.asked({"access_log": {}}, CommunityOverviewPartsV1) == {"access_log": {"limit": 20}}
    found = overview.answer(parts, {n: part(n) for n in ("profile", "cases", "notices", "access_log")})
    assert found == {"profile": "profile", "notices": "notices"}    # no "errors" when none failed
    assert computed == [("profile", {}), ("notices", {"limit": 5})]
    assert overview.answer(overview.asked({}, CommunityOverviewPartsV1), {}) == {}


def test_an_unknown_part_is_refused_by_name():
    with pytest.raises(BadInput, match=r"^unknown part 'wallet'; the parts are profile, cases, notices, access_log$"):
        overview.asked({"profile": {}, "wallet": {}}, CommunityOverviewPartsV1)
    with pytest.raises(BadInput, match="parts must map part names to their options"):
        overview.asked(["profile"], CommunityOverviewPartsV1)


@pytest.mark.parametrize("parts", [{"notices": {"limit": 0}}, {"notices": {"limit": 201}}, {"profile": {"limit": 5}}])
def test_options_are_checked_against_the_contract(parts):
    with pytest.raises(ValidationError) as err:   # the RPC entrypoint answers it BadInput, naming the option
        overview.asked(parts, CommunityOverviewPartsV1)
    assert translate(err.value).__class__ is BadInput and str(translate(err.value)).startswith(
        f"{next(iter(parts))}.limit:")


def test_a_part_that_fails_its_check_fails_alone_with_the_error_its_own_rpc_gives(caplog):
    def forbidden():
        raise Forbidden("residents read their own notices")

    def bug():
        return {}["missing"]

    found = overview.answer({"profile": {}, "notices": {}, "cases": {}},
                            {"profile": lambda: {"name": "王芳"}, "notices": forbidden, "cases": bug})
    assert found["profile"] == {"name": "王芳"}
    assert set(found) == {"profile", "errors"} and set(found["errors"]) == {"notices", "cases"}
    error = deserialize(found["errors"]["notices"])   # what the gateway raises for the field
    assert isinstance(error, RemoteError) and (error.exc_type, error.value) == (
        "Forbidden", "residents read their own notices")
    assert deserialize(found["errors"]["cases"]).exc_type == "KeyError"
    assert "overview part cases failed" in caplog.text and "notices" not in caplog.text  # a bug is logged


def test_a_store_that_does_not_answer_fails_the_whole_call():
    def down():
        raise pymongo.errors.ServerSelectionTimeoutError("no servers")

    with pytest.raises(pymongo.errors.ServerSelectionTimeoutError):
        overview.answer({"profile": {}, "cases": {}}, {"profile": down, "cases": lambda: []})


@pytest.mark.parametrize("value", [None, "", "   ", 42, "x" * 129])
def test_the_resident_id_is_checked(value):
    with pytest.raises(BadInput, match="resident_id"):
        checked_resident_id(value)
