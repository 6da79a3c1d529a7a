"""Witnesses: where the signed tree heads of the ledger go, outside the database, so that a head
once published stays as it was whatever is done to the database afterwards.

A witness keeps, per log (its origin, ``esupervision/ledger/<center id>``):

- ``checkpoint/<size>``: each signed head, in the transparency-dev checkpoint text format;
- ``leaves/<size>``: the chain hashes of the events that head added (``first <seq>`` then one hex
  hash a line), so a rewritten event is named exactly, not only somewhere before a head;

and, beside the logs, ``breaches/<instant>.txt``: every breach the nightly check found, so that
deleting the alert from the database does not hide it. Nothing is ever overwritten: a file is
created whole (written aside, then linked into place) or not at all.

``DirectoryWitness`` keeps these as plain files under one folder (``ESV_LEDGER_WITNESS``); an
object store (keys of the same names, written with if-none-match) or another deployment pulling
the heads over HTTP (``/ledger/<center>/checkpoint``, ``/ledger/<center>/checkpoint/<size>``, see
``api/ledger.py``) implements the same few methods (``Witness``).
"""
from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session

from esupervision.models.ledger.checkpoint import origin_for
from esupervision.models.ledger.tree import chain_hashes, chain_sizes, heads_after
from esupervision.settings import Settings, get_settings

SIZE_DIGITS = 20   # file names sort as numbers do


class WitnessConflict(RuntimeError):
    """The witness already holds a different head of the same size: the log forked."""


class Witness(Protocol):
    """What the ledger publishes to and verifies against (``models.ledger.ledger.Witnessed`` plus
    the writing side)."""

    def origins(self) -> list[str]: ...

    def checkpoints(self, origin: str) -> list[str]: ...

    def leaves(self, origin: str) -> Iterator[tuple[int, str]]: ...

    def latest_size(self, origin: str) -> int: ...

    def publish(self, origin: str, size: int, note: str, leaves: list[tuple[int, str]]) -> bool: ...

    def record_breach(self, text: str, at: datetime) -> str: ...

    def breaches(self) -> list[str]: ...


class DirectoryWitness:
    """A witness on plain files under ``root`` (append-only: files are created, never changed)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self._latest: dict[str, int] = {}

    def _log(self, origin: str) -> Path:
        parts = origin.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise ValueError(f"unusable origin {origin!r}")
        return self.root.joinpath(*parts)

    def origins(self) -> list[str]:
        """Every origin with a checkpoint here."""
        found = []
        for folder, subfolders, _ in os.walk(self.root):
            if "checkpoint" in subfolders:
                found.append(Path(folder).relative_to(self.root).as_posix())
            # Never into a log's own files (thousands of heads), nor the breach reports.
            subfolders[:] = [name for name in subfolders if name not in ("checkpoint", "leaves", "breaches")]
        return sorted(found)

    def sizes(self, origin: str) -> list[int]:
        folder = self._log(origin) / "checkpoint"
        if not folder.is_dir():
            return []
        return sorted(int(name) for name in os.listdir(folder) if name.isdigit())

    def checkpoints(self, origin: str) -> list[str]:
        folder = self._log(origin) / "checkpoint"
        return [(folder / f"{size:0{SIZE_DIGITS}d}").read_text(encoding="utf-8") for size in self.sizes(origin)]

    def checkpoint(self, origin: str, size: int | None = None) -> str | None:
        """The head of ``size``, or the newest; None when there is none."""
        if size is None:
            sizes = self.sizes(origin)
            if not sizes:
                return None
            size = sizes[-1]
        path = self._log(origin) / "checkpoint" / f"{size:0{SIZE_DIGITS}d}"
        return path.read_text(encoding="utf-8") if path.exists() else None

    def latest_size(self, origin: str) -> int:
        if origin not in self._latest:
            sizes = self.sizes(origin)
            self._latest[origin] = sizes[-1] if sizes else 0
        return self._latest[origin]

    def leaves(self, origin: str) -> Iterator[tuple[int, str]]:
        """(seq, chain hash) ascending, each seq once (bundles of two publishers may overlap)."""
        folder = self._log(origin) / "leaves"
        if not folder.is_dir():
            return
        bundles = []
        for name in os.listdir(folder):
            if name.isdigit():
                with open(folder / name, encoding="utf-8") as fh:
                    first = int(fh.readline().split()[1])
                bundles.append((first, int(name)))
        done = 0
        for first, size in sorted(bundles):
            if size <= done:
                continue
            with open(folder / f"{size:0{SIZE_DIGITS}d}", encoding="utf-8") as fh:
                fh.readline()
                for seq, line in enumerate(fh, start=first):
                    if seq > done:
                        yield seq, line.strip()
                        done = seq

    def publish(self, origin: str, size: int, note: str, leaves: list[tuple[int, str]]) -> bool:
        """Keep a signed head and the chain hashes it added (leaves first: a head is never there
        without them). False when the very same head was there already; WitnessConflict when a
        different head of that size was."""
        log = self._log(origin)
        name = f"{size:0{SIZE_DIGITS}d}"
        if leaves:
            _create(log / "leaves" / name,
                    f"first {leaves[0][0]}\n" + "".join(f"{hash_}\n" for _, hash_ in leaves))
        created = _create(log / "checkpoint" / name, note)
        if not created and (log / "checkpoint" / name).read_text(encoding="utf-8") != note:
            existing = (log / "checkpoint" / name).read_text(encoding="utf-8").split("\n")
            if existing[:3] != note.split("\n")[:3]:
                raise WitnessConflict(f"the witness holds another head of size {size} for {origin}")
        self._latest[origin] = max(self._latest.get(origin, 0), size)
        return created

    def record_breach(self, text: str, at: datetime) -> str:
        """Keep a breach report; returns its name."""
        stamp = at.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        for n in range(1000):
            name = f"{stamp}-{n}.txt"
            if _create(self.root / "breaches" / name, text):
                return name
        raise RuntimeError("no free name for the breach report")

    def breaches(self) -> list[str]:
        folder = self.root / "breaches"
        if not folder.is_dir():
            return []
        return [(folder / name).read_text(encoding="utf-8") for name in sorted(os.listdir(folder))]


def _create(path: Path, text: str) -> bool:
    """Create ``path`` holding ``text``, whole or not at all; False if it exists already."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return False
    fd, aside = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(aside, path)    # fails if another writer created it first
        except FileExistsError:
            return False
        return True
    finally:
        os.unlink(aside)


def witness_at(location: str | Path) -> DirectoryWitness:
    """The witness at ``location`` (a directory; an object store or a remote deployment would be
    chosen here by its URL scheme)."""
    text = str(location)
    if "://" in text:
        raise ValueError(f"ESV_LEDGER_WITNESS={text!r}: only a directory is supported as a witness so far")
    return DirectoryWitness(text)


def witness_from_settings(settings: Settings | None = None) -> DirectoryWitness:
    return witness_at((settings or get_settings()).ledger_witness)


def publish_heads(engine: Engine, witness: Witness, log_name: str | None = None,
                  centers: list[uuid.UUID] | None = None) -> int:
    """Publish every signed head the witness does not hold yet, oldest first, each with the chain
    hashes it added; returns how many were published."""
    log_name = log_name or get_settings().ledger_log_name
    published = 0
    with Session(engine) as session:
        for center_id in sorted(centers if centers is not None else chain_sizes(session), key=str):
            origin = origin_for(log_name, center_id)
            held = witness.latest_size(origin)
            for head in heads_after(session, center_id, held):
                leaves = chain_hashes(session, center_id, held + 1, head.size)
                if witness.publish(origin, head.size, head.note, leaves):
                    published += 1
                held = head.size
    return published
