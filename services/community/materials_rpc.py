"""Materials uploaded to cases, and proofs of residence added to a declared move: the community
service's RPCs (a mixin of ``CommunityService``, which gives ``self.db`` and ``self._case``, the
case the actor may see). Files travel as base64 in the RPC (at most 10 MB before encoding); the
rules are in ``materials`` (what may be kept) and ``moves`` (who reads a move's proofs)."""
from __future__ import annotations

import base64
import binascii

from services.common import clock
from services.common.errors import BadInput, Conflict, Forbidden, NotFound
from services.common.rpc import rpc
from services.community import access_log, cases, materials, materials_store, moves, residents_store


class MaterialEntrypoints:
    """A case's uploaded files."""

    @rpc
    def upload_material(self, actor: dict, case_id: str, name: str, content_type: str, data_base64: str) -> dict:
        """A resident adds a file to their own open case (staff of its committees may too, at the
        desk); the file as listed."""
        who = cases.actor_of(actor)
        case = self._case(case_id, who)
        if who.role not in ("resident", "guardian", "staff", "admin"):
            raise NotFound(f"no case {case_id}")
        data = _decoded(data_base64)
        materials.may_upload(case["status"], cases.FINAL)
        upload = materials.check(name, content_type, data, materials_store.count_of_case(self.db, case["_id"]))
        at = clock.now().isoformat()
        file_id = materials_store.put(self.db, {"case_id": case["_id"], "resident_id": case["resident_id"]},
                                      upload, data, who.id, at)
        return {"file_id": file_id, "name": upload.name, "content_type": upload.content_type, "size": upload.size,
                "at": at, "by": who.id}

    @rpc
    def upload_move_proof(self, actor: dict, move_id: str, name: str, content_type: str, data_base64: str) -> dict:
        """A resident adds a file of proof of residence (a lease, a deed, a utility bill) to the
        declaration they made, while it waits; the proof as listed on the move (``ProofV1``)."""
        who = cases.actor_of(actor)
        if who.role not in ("resident", "guardian"):
            raise Forbidden("residents add proof to their own declaration")
        pending = residents_store.get(self.db, who.id).get("pending_move")
        if not pending or pending["move_id"] != move_id:
            raise Conflict("没有待确认的居住地申报（可能已被确认或退回）。 (No such declaration is waiting.)")
        data = _decoded(data_base64)
        proofs = pending.get("proofs", [])
        upload = materials.check(name, content_type, data, len(proofs), materials.MAX_PER_MOVE, "a declaration")
        at = clock.now().isoformat()
        file_id = materials_store.put(self.db, {"move_id": move_id, "resident_id": who.id}, upload, data, who.id, at)
        proof = {"file_id": file_id, "name": upload.name, "content_type": upload.content_type, "size": upload.size,
                 "at": at}
        if not residents_store.add_proof(self.db, who.id, pending, proof):
            materials_store.delete(self.db, file_id)   # the declaration moved on meanwhile: keep no orphan
            raise Conflict("申报已被确认、退回或已有足够的证明文件。 (The declaration no longer takes files.)")
        return proof

    @rpc
    def list_materials(self, actor: dict, case_id: str) -> list[dict]:
        """The files of a case the actor may see."""
        case = self._case(case_id, cases.actor_of(actor))
        return materials_store.of_case(self.db, case["_id"])

    @rpc
    def download_material(self, actor: dict, file_id: str) -> dict:
        """One file (base64) for someone who may see its case: the resident, the clerks of the
        committees handling or accepting it; logged like every opening of a resident's record."""
        who = cases.actor_of(actor)
        found = materials_store.get(self.db, file_id) if isinstance(file_id, str) and \
            materials.FILE_ID.match(file_id) else None
        if found is None:
            raise NotFound("no such file")
        meta, data = found
        if meta["move_id"] is not None:
            try:
                resident = residents_store.get(self.db, meta["resident_id"])
            except NotFound:
                resident = None
            if resident is None or not moves.may_read_proof(resident, meta["move_id"], who):
                raise NotFound("no such file")   # as if there were none
            access_log.record(self.db, resident["_id"], who, "move", clock.now())
        else:
            case = self._case(meta["case_id"], who)   # NotFound for anyone else: as if there were no file
            access_log.record(self.db, case["resident_id"], who, "case", clock.now(), case_id=case["_id"])
        return {**meta, "data_base64": base64.b64encode(data).decode("ascii")}


def _decoded(data_base64) -> bytes:
    """A file's bytes from the RPC's base64, bounded before decoding."""
    if not isinstance(data_base64, str) or len(data_base64) > (materials.MAX_BYTES * 4) // 3 + 8:
        raise BadInput(f"a file may be at most {materials.MAX_BYTES // (1024 * 1024)} MB")
    try:
        return base64.b64decode(data_base64, validate=True)
    except (binascii.Error, ValueError):
        raise BadInput("the file's data is not base64") from None
