"""The kiosk's store-and-forward buffer: what must be on disk before the kiosk goes on."""
import re

from infra.kiosk.client import KioskClient

NOWHERE = "amqp://guest:guest@127.0.0.1:1/"


def statements(client: KioskClient) -> list[str]:
    seen: list[str] = []
    client._db.set_trace_callback(seen.append)
    return seen


def test_keeping_an_event_is_the_one_commit_made_durable(tmp_path):
    """Three fsyncs an event (sequence, keep, remove) were the kiosk's largest cost. The keep
    alone is committed with synchronous=FULL; the write-ahead log's fsync then carries the
    sequence taken before it."""
    with KioskClient(NOWHERE, "K-buf", tmp_path, offline=True) as client:
        seen = statements(client)
        client.checkin("B00001")
        client.checkout("B00002", "LC000000000001")
        assert [e["data"]["barcode"] for e in client.pending()] == ["B00001", "B00002"]
    text = "\n".join(seen)
    durable = re.findall(r"PRAGMA synchronous=FULL\nBEGIN IMMEDIATE\n(INSERT[^\n]*)\nCOMMIT\nPRAGMA synchronous=NORMAL",
                         text)
    assert len(durable) == 2 and all("INTO buffer" in s for s in durable)
    assert text.count("synchronous=FULL") == 2      # nothing else waits for the disk


def test_a_buffer_left_behind_is_replayed_with_its_sequence_kept(tmp_path):
    with KioskClient(NOWHERE, "K-buf", tmp_path, offline=True) as client:
        first = client.checkin("B00001")
    with KioskClient(NOWHERE, "K-buf", tmp_path, offline=True) as again:
        second = again.checkin("B00002")
        assert [e["id"] for e in again.pending()] == [first["id"], second["id"]]
        assert second["sequence"] == first["sequence"] + 1 == again.last_sequence()
