"""Open an event-log file as bytes, plain or gzipped, whatever its name says.

Users rename files (``log.xes`` that is really gzipped, ``log.gz`` that is not), so the
compression is detected from the first bytes, never from the extension.
"""
from __future__ import annotations

import gzip
from pathlib import Path
from collections.abc import Callable
from typing import BinaryIO

from esupervision.models.errors import DomainError, ErrorCode

GZIP_MAGIC = b"\x1f\x8b"


def open_counted(path: str | Path) -> tuple[BinaryIO, Callable[[], int]]:
    """Like ``open_source``, with a function telling how many bytes of the file itself (not of
    its decompressed content) have been read, for progress against the file's size."""
    file_path = Path(path)
    try:
        raw = file_path.open("rb")
    except OSError as exc:
        raise _unopenable(file_path, exc) from exc
    magic = raw.read(len(GZIP_MAGIC))
    raw.seek(0)
    stream: BinaryIO = gzip.GzipFile(fileobj=raw, mode="rb") if magic == GZIP_MAGIC else raw  # type: ignore[assignment]

    if stream is raw:
        return raw, raw.tell
    closing = stream.close

    def close() -> None:
        closing()
        raw.close()

    stream.close = close  # type: ignore[method-assign]
    return stream, raw.tell


def open_source(path: str | Path) -> BinaryIO:
    """Return a binary stream of the file's decompressed content.

    Raises ``DomainError(IMPORT_FILE_INVALID)`` naming the file if it cannot be opened. Errors of
    a damaged gzip stream surface later, while reading, and are the reader's to translate.
    """
    file_path = Path(path)
    try:
        with file_path.open("rb") as probe:
            magic = probe.read(len(GZIP_MAGIC))
        if magic == GZIP_MAGIC:
            return gzip.open(file_path, "rb")  # type: ignore[return-value]
        return file_path.open("rb")
    except OSError as exc:
        raise _unopenable(file_path, exc) from exc


def _unopenable(file_path: Path, exc: OSError) -> DomainError:
    return DomainError(
        ErrorCode.IMPORT_FILE_INVALID,
        f"无法打开导入文件 {file_path}: {exc.strerror or exc} (cannot open file)",
        path=str(file_path),
    )
