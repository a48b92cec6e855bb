"""Locate weight blobs through the blob storage header and per-blob metadata, without reading the data."""

from __future__ import annotations

import os
import struct
from pathlib import Path
from typing import BinaryIO

from mlinspect.errors import InvalidModelError

HEADER_SIZE = 64
METADATA_SIZE = 64
SENTINEL = 0xDEADBEEF
_HEADER = struct.Struct("<II")
# sentinel, dtype code, data size in bytes, data offset, padding bits (sub-byte dtypes)
_METADATA = struct.Struct("<IIQQQ")

# Codes of MILBlob's BlobDataType as written by coremltools 9.0's storage writer.
BLOB_DTYPES = {
    1: "fp16",
    2: "fp32",
    3: "uint8",
    4: "int8",
    5: "bf16",
    6: "int16",
    7: "uint16",
    8: "int4",
    9: "uint1",
    10: "uint2",
    11: "uint4",
    12: "uint3",
    13: "uint6",
    14: "int32",
    15: "uint32",
}


class BlobFile:
    """An open weight file: checks its header once, then reads one metadata record per blob."""

    def __init__(self, path: Path, shown: str) -> None:
        self.path = path
        self.shown = shown
        self._file: BinaryIO = open(path, "rb")  # noqa: SIM115 (closed by close())
        self.size = os.fstat(self._file.fileno()).st_size
        header = self._file.read(HEADER_SIZE)
        if len(header) < HEADER_SIZE:
            self.close()
            raise InvalidModelError(shown, f"truncated weight file: {self.size} bytes, the header alone takes 64")
        self.blob_count, self.version = _HEADER.unpack_from(header)
        if self.version != 2:
            self.close()
            raise InvalidModelError(shown, f"unsupported blob storage version {self.version} (expected 2)")

    def metadata(self, offset: int) -> tuple[str, int, int]:
        """Return (dtype, size in bytes, data offset) of the blob whose metadata starts at `offset`."""
        if offset < HEADER_SIZE or offset + METADATA_SIZE > self.size:
            raise InvalidModelError(
                self.shown, f"blob offset {offset} is outside the file's {self.size} bytes"
            )
        self._file.seek(offset)
        sentinel, code, nbytes, data_offset, _padding = _METADATA.unpack(self._file.read(_METADATA.size))
        if sentinel != SENTINEL:
            raise InvalidModelError(
                self.shown, f"bad blob sentinel 0x{sentinel:08X} at offset {offset} (expected 0xDEADBEEF)"
            )
        dtype = BLOB_DTYPES.get(code)
        if dtype is None:
            raise InvalidModelError(self.shown, f"unknown blob dtype code {code} at offset {offset}")
        if data_offset < HEADER_SIZE or data_offset + nbytes > self.size:
            raise InvalidModelError(
                self.shown,
                f"blob at offset {offset} declares {nbytes} bytes at {data_offset}, past the end of the file ({self.size} bytes)",
            )
        return dtype, nbytes, data_offset

    def close(self) -> None:
        self._file.close()
