"""Open an event-log file as bytes, plain or gzipped, whatever its name says.

Users rename files (``log.xes`` that is really gzipped, ``log.gz`` that is not), so the
compression is detected from the first bytes, never from the extension.
"""
from __future__ import annotations

import gzip
from pathlib import Path
from typing import BinaryIO

from esupervision.models.errors import DomainError, ErrorCode

GZIP_MAGIC = b"\x1f\x8b"


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
        raise DomainError(
            ErrorCode.IMPORT_FILE_INVALID,
            f"无法打开导入文件 {file_path}: {exc.strerror or exc} (cannot open file)",
            path=str(file_path),
        ) from exc
