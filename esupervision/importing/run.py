"""The ingesting half of ``esv import``: read and check the whole file first (a truncated file
changes nothing), make sure the catalogue entries exist, then read it again and replay every
case's events through the same service function department systems use, in batches; memory
holds one batch, never the file. Importing a file twice is a no-op:
each event keeps the id the mapping gave it."""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine

from esupervision.importing.convert import CatalogueSpec, ImportedCase, LogConversion
from esupervision.importing.mapping import load_mapping
from esupervision.models.cases.case import Case
from esupervision.models.catalogue.catalogue import (CenterLevel, Department, Item, ItemKind, ItemSpec, center_by_code,
                                                     create_center, create_department, create_item)
from esupervision.models.cases.casework import ingest
from esupervision.models.clocks.clock import Basis, Clock
from esupervision.models.errors import DomainError, ErrorCode
from esupervision.models.ledger.transaction import Transaction, transaction

BATCH_EVENTS = 2000


def ensure_catalogue(tx: Transaction, spec: CatalogueSpec) -> None:
    """Create the center, department and item a mapping files cases under, if missing."""
    try:
        center = center_by_code(tx, spec.center_code)
    except DomainError as exc:
        if exc.code is not ErrorCode.CENTER_NOT_FOUND:
            raise
        center = create_center(tx, code=spec.center_code, name=spec.center_name, level=CenterLevel.CITY)
    if tx.session.scalars(select(Department).where(Department.center_id == center.id,
                                                   Department.code == spec.department_code)).first() is None:
        create_department(tx, center=center, code=spec.department_code, name=spec.department_name)
        tx.session.flush()
    if tx.session.scalars(select(Item).where(Item.center_id == center.id,
                                             Item.code == spec.item_code)).first() is None:
        create_item(tx, center=center, spec=ItemSpec(
            code=spec.item_code, name=spec.item_name, department_code=spec.department_code,
            legal_days=spec.legal_days, committed_days=spec.committed_days,
            extension_days=spec.extension_days, basis=Basis(spec.basis), kind=ItemKind.LICENCE))


@dataclass
class ImportProgress:
    """Where an import stands: ``phase`` is ``check`` (the whole file read and converted, nothing
    written) then ``import`` (read again and replayed); ``bytes_read`` of ``bytes_total`` are of
    the file itself, ``cases`` the cases done in this phase."""

    phase: str
    bytes_read: int
    bytes_total: int
    cases: int


def import_file(engine: Engine, path: Path, mapping_name: str,
                progress: Callable[[ImportProgress], None] | None = None,
                options: dict[str, str] | None = None) -> dict[str, Any]:
    """Import one log; returns counts of cases, events, refusals (by code) and outcomes, every
    adjustment the conversion made by rule (``adjustments``) and the attributes the mapping
    names that some cases or events lack (``missing_attributes``).

    The file is read twice, holding one case at a time: first to check all of it (a damaged
    file, a duplicate case number or an attribute the file never carries refuses the import
    before anything is written), then to replay it in batches.
    """
    file_path = Path(path)
    if not file_path.exists():
        raise DomainError(ErrorCode.IMPORT_FILE_INVALID, f"文件不存在 file not found: {path}", path=str(path))
    mapping = load_mapping(mapping_name)
    total_bytes = file_path.stat().st_size

    def reporter(phase: str) -> Callable[[int, int], None] | None:
        if progress is None:
            return None
        return lambda read, cases: progress(ImportProgress(phase, read, total_bytes, cases))

    checked = LogConversion(file_path, mapping, options=options, on_trace=reporter("check"))
    for _ in checked:
        pass
    checked.check()
    source = f"import:{mapping_name if '/' not in mapping_name else Path(mapping_name).stem}"
    with transaction(engine, actor=source) as tx:
        for spec in checked.catalogue.values():
            ensure_catalogue(tx, spec)
    statuses: Counter[str] = Counter()
    refusals: Counter[str] = Counter()
    examples: list[dict[str, str]] = []
    numbers: list[str] = []
    batch: list[ImportedCase] = []
    size = 0

    def flush() -> None:
        nonlocal batch, size
        if not batch:
            return
        events = [ev for case in batch for ev in case.events]
        with transaction(engine, actor=source) as tx:
            for outcome in ingest(tx, events, source=source):
                statuses[outcome.status] += 1
                if outcome.status == "refused":
                    refusals[outcome.code or "?"] += 1
                    if len(examples) < 5:
                        examples.append({"event": outcome.source_event_id, "code": outcome.code or "",
                                         "message": outcome.message or ""})
        batch, size = [], 0

    replay = LogConversion(file_path, mapping, options=options, on_trace=reporter("import"))
    for case in replay:
        numbers.append(case.number)
        batch.append(case)
        size += len(case.events)
        if size >= BATCH_EVENTS:
            flush()
    flush()
    converted = checked.summary()
    # "events" counts the file's own events; "reported" adds the acceptance and completion
    # events the mapping derives from each case's start and end.
    return {"file": str(path), "mapping": mapping_name, "cases": converted["cases"],
            "events": converted["source_events"], "reported": converted["events"],
            "accepted": statuses["accepted"], "duplicates": statuses["duplicate"],
            "refused": statuses["refused"], "refusals": dict(refusals), "refusal_examples": examples,
            **outcome_counts(engine, numbers),
            "adjustments": converted["adjustments"], "missing_attributes": converted["missing_attributes"]}


def outcome_counts(engine: Engine, numbers: list[str]) -> dict[str, int]:
    """How the imported cases stand: finished early / on time / overdue, and still open."""
    from sqlmodel import Session

    counts: Counter[str] = Counter()
    with Session(engine) as session:
        for start in range(0, len(numbers), 1000):
            rows = session.execute(select(Clock.state, Clock.outcome).join(Case, Case.clock_id == Clock.id)
                                   .where(Case.number.in_(numbers[start:start + 1000])))  # type: ignore[attr-defined]
            for state, outcome in rows:
                counts[outcome if state == "finished" else "open"] += 1
    return {"finished": counts["early"] + counts["on_time"] + counts["overdue"], "early": counts["early"],
            "on_time": counts["on_time"], "overdue": counts["overdue"], "open": counts["open"]}
