"""Materials uploaded to cases: the community service's RPCs (a mixin of ``CommunityService``,
which gives ``self.db`` and ``self._case``, the case the actor may see). Files travel as base64
in the RPC (at most 10 MB before encoding); the rules are in ``materials``."""
from __future__ import annotations

import base64
import binascii

from services.common import clock
from services.common.errors import BadInput, NotFound
from services.common.rpc import rpc
from services.community import access_log, cases, materials, materials_store


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
        if not isinstance(data_base64, str) or len(data_base64) > (materials.MAX_BYTES * 4) // 3 + 8:
            raise BadInput(f"a file may be at most {materials.MAX_BYTES // (1024 * 1024)} MB")
        try:
            data = base64.b64decode(data_base64, validate=True)
        except (binascii.Error, ValueError):
            raise BadInput("the file's data is not base64") from None
        materials.may_upload(case["status"], cases.FINAL)
        upload = materials.check(name, content_type, data, materials_store.count_of_case(self.db, case["_id"]))
        at = clock.now().isoformat()
        file_id = materials_store.put(self.db, case, upload, data, who.id, at)
        return {"file_id": file_id, "name": upload.name, "content_type": upload.content_type, "size": upload.size,
                "at": at, "by": who.id}

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
        case = self._case(meta["case_id"], who)   # NotFound for anyone else: as if there were no file
        access_log.record(self.db, case["resident_id"], who, "case", clock.now(), case_id=case["_id"])
        return {**meta, "data_base64": base64.b64encode(data).decode("ascii")}
