"""Personal data in answers: masked unless the role needs it, and every unmasked read recorded."""
from __future__ import annotations

import uuid
from collections.abc import Iterator

from anyio import to_thread
from sqlmodel import Session
from strawberry.extensions import SchemaExtension
from strawberry.types import Info

from esupervision.models.access.scope import SEES_PERSONAL_DATA, Role, mask_id_number, mask_phone
from esupervision.models.access.audit import record_reads


def reveal(info: Info, *, subject_type: str, subject_id: uuid.UUID, field: str, value: str | None,
           owner_phone: str | None = None) -> str | None:
    """``value`` in full for roles that need it (the read is recorded), masked for the others.

    An applicant sees their own data in full; it is theirs, so that read is not recorded.
    """
    if value is None:
        return None
    viewer = info.context.viewer
    if viewer.role is Role.APPLICANT and owner_phone and viewer.applicant_phone == owner_phone:
        return value
    if viewer.role in SEES_PERSONAL_DATA:
        info.context.personal_read(subject_type=subject_type, subject_id=subject_id, field=field)
        return value
    return mask_phone(value) if "phone" in field else mask_id_number(value)


class RecordPersonalReads(SchemaExtension):
    """Writes the request's unmasked reads once the answer is built."""

    async def on_operation(self) -> Iterator[None]:  # type: ignore[override]
        yield
        context = self.execution_context.context
        reads = getattr(context, "personal_reads", None)
        if reads:
            def write() -> None:
                with Session(context.engine) as session:
                    record_reads(session, reads)
                    session.commit()
            await to_thread.run_sync(write)
            reads.clear()
