"""JSON logs, and a correlation id carried from an RPC call into the events it causes."""
import json
import logging

from nameko.standalone.rpc import ClusterRpcProxy

from services.common.logs import JsonFormatter
from services.community.service import CommunityService
from support import bind_probe_queue, drain, id_number


def test_json_log_line_is_one_object_with_extras_and_utf8():
    record = logging.makeLogRecord({"name": "x", "levelname": "INFO", "msg": "受理 %s", "args": ("成功",),
                                    "case_id": "c1"})
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert entry["message"] == "受理 成功" and entry["case_id"] == "c1" and entry["level"] == "INFO"
    assert "受理" in line  # not \\u-escaped


def test_correlation_id_travels_from_rpc_into_the_event(start_service, settings):
    start_service(CommunityService)
    probe = bind_probe_queue(settings.amqp_uri, "community.events")
    with ClusterRpcProxy({"AMQP_URI": settings.amqp_uri}, timeout=10,
                         context_data={"correlation_id": "trace-123"}) as rpc:
        rpc.community.upsert_places([{"code": "CX", "kind": "committee", "name": "测试居委会"}])
        rpc.community.register_resident({"id_number": id_number(), "name": "钱七", "residence_committee": "CX",
                                         "address": "某路"})
    [message] = drain(settings.amqp_uri, probe)
    assert json.loads(message.body)["correlationid"] == "trace-123"
    assert message.headers["nameko.correlation_id"] == "trace-123"
