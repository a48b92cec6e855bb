"""Locate weight blobs through the blob storage header and per-blob metadata, without reading the data."""

from __future__ import annotations

import os
import struct
from pathlib import Path

from mlinspect.errors import InvalidModelError
from mlinspect.reader.files import describe_os_error, open_regular

HEADER_SIZE = 64
METADATA_SIZE = 64
SENTINEL = 0xDEADBEEF
_HEADER = struct.Struct("<II")
# sentinel, dtype code, data size in bytes, data offset, padding bits (sub-byte dtypes)
_METADATA = struct.Struct("<IIQQQ")
# First bytes of the text file Git LFS leaves in place of a file it did not download.
GIT_LFS_POINTER = b"version https://git-lfs.github.com/spec/"

# Codes of MILBlob's BlobDataType (MILBlob/Blob/BlobDataType.hpp). coremltools
# 9.0's storage writer (libmilstoragepython.so) also writes the two fp8 codes.
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
    16: "fp8e4m3fn",
    17: "fp8e5m2",
}


class GitLfsPointerError(InvalidModelError):
    """A Git LFS pointer file in place of a weight file (the reader goes on with a warning)."""


class BlobFile:
    """An open weight file: checks its header once, then reads one metadata record per blob.

    Only the 64-byte header and the 64-byte metadata records are read, each
    with one pread, so memory and time do not grow with the size of the weight data.
    """

    def __init__(self, path: Path, shown: str) -> None:
        self.path = path
        self.shown = shown
        self._descriptor = open_regular(path, shown)
        try:
            self.size = os.fstat(self._descriptor).st_size
            header = self._read(0, HEADER_SIZE)
            if header.startswith(GIT_LFS_POINTER):
                raise GitLfsPointerError(
                    shown,
                    "is a Git LFS pointer, not the weight data (run `git lfs pull`); "
                    "weight sizes are taken from the declared types",
                )
            if len(header) < HEADER_SIZE:
                raise InvalidModelError(shown, f"truncated weight file: {self.size} bytes, the header alone takes 64")
            self.blob_count, self.version = _HEADER.unpack_from(header)
            if self.version != 2:
                raise InvalidModelError(shown, f"unsupported blob storage version {self.version} (expected 2)")
        except BaseException:
            self.close()
            raise

    def _read(self, offset: int, size: int) -> bytes:
        try:
            return os.pread(self._descriptor, size, offset)
        except OSError as error:
            raise InvalidModelError(self.shown, describe_os_error(error)) from error

    def metadata(self, offset: int) -> tuple[str, int, int]:
        """Return (dtype, size in bytes, data offset) of the blob whose metadata starts at `offset`."""
        if offset < HEADER_SIZE or offset + METADATA_SIZE > self.size:
            raise InvalidModelError(
                self.shown, f"blob offset {offset} is outside the file's {self.size} bytes"
            )
        record = self._read(offset, _METADATA.size)
        if len(record) < _METADATA.size:  # the file shrank after it was opened
            raise InvalidModelError(self.shown, f"blob offset {offset} is outside the file's {self.size} bytes")
        sentinel, code, nbytes, data_offset, _padding = _METADATA.unpack(record)
        if sentinel != SENTINEL:
            raise InvalidModelError(
                self.shown, f"bad blob sentinel 0x{sentinel:08X} at offset {offset} (expected 0xDEADBEEF): "
                "the weight file is damaged, incompletely downloaded or does not belong to this model"
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
        if self._descriptor >= 0:
            os.close(self._descriptor)
            self._descriptor = -1
