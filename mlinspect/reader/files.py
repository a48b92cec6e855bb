"""Open the files of a model for reading only, and turn every OS-level failure into an InvalidModelError."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from mlinspect.errors import InvalidModelError

# O_NONBLOCK keeps open() from waiting for a writer when a hostile package puts
# a FIFO where a file belongs, and the file type is checked right after opening.
# O_NOFOLLOW rejects a final symlink. Callers pass paths already resolved by
# `package.inside`, so a symlink here is a loop or was swapped in after the check.
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


# Paths taken from Manifest.json or from the program are shown in one-line
# messages. So they may not contain control characters (C0, DEL and C1) or the
# Unicode line and paragraph separators, because str.splitlines() and some
# terminals treat all of these as line breaks.
_CONTROL_CHARACTERS = frozenset(map(chr, [*range(32), *range(127, 160), 0x2028, 0x2029]))


def check_path_text(text: str, what: str, shown: str | Path) -> None:
    """Raise InvalidModelError naming `shown` unless `text` is usable as a path.

    A usable path has no NUL or other control characters and no lone UTF-16
    surrogates (which JSON escapes can produce and no file system name can hold).
    """
    problem = None
    if not _CONTROL_CHARACTERS.isdisjoint(text):
        problem = "contains NUL, line breaks or other control characters"
    else:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            problem = "contains a lone surrogate, which is not valid Unicode"
    if problem is not None:
        quoted = repr(text if len(text) <= 200 else text[:200] + "...")
        raise InvalidModelError(shown, f"invalid {what} {quoted}: {problem}")


class MissingFileError(InvalidModelError):
    """A file that the model names does not exist (the reader may go on with a warning)."""


def describe_os_error(error: OSError) -> str:
    """Return the usual words for an OS error, e.g. "cannot be read: Permission denied"."""
    if error.errno == errno.ELOOP:
        return "cannot be read: a symbolic link loop or a symbolic link swapped in while reading"
    if error.errno == errno.ENAMETOOLONG:
        return "cannot be read: the path is too long for the file system"
    return f"cannot be read: {error.strerror or error}"


def open_regular(path: Path, shown: str | Path) -> int:
    """Open `path` for reading and return its file descriptor; raise unless it is a regular file.

    A missing file, or a file where a folder belongs on its path, raises
    MissingFileError; folders, FIFOs, sockets and devices raise InvalidModelError.
    """
    try:
        descriptor = os.open(path, _OPEN_FLAGS)
    except (FileNotFoundError, NotADirectoryError) as error:
        raise MissingFileError(shown, "not found") from error
    except IsADirectoryError as error:
        raise InvalidModelError(shown, "is a folder, expected a file") from error
    except OSError as error:
        raise InvalidModelError(shown, describe_os_error(error)) from error
    except ValueError as error:  # a NUL byte, or a lone surrogate that cannot be encoded
        raise InvalidModelError(shown, "invalid path: contains a NUL byte or characters the file system cannot encode") from error

    mode = os.fstat(descriptor).st_mode
    if stat.S_ISREG(mode):
        return descriptor
    os.close(descriptor)
    if stat.S_ISDIR(mode):
        raise InvalidModelError(shown, "is a folder, expected a file")
    raise InvalidModelError(shown, "not a regular file (a FIFO, socket or device), expected a file")


def read_regular(path: Path, shown: str | Path, max_bytes: int) -> bytes:
    """Read the whole of a regular file, rejecting one larger than `max_bytes` before reading any of it."""
    descriptor = open_regular(path, shown)
    try:
        size = os.fstat(descriptor).st_size
        if size > max_bytes:
            raise InvalidModelError(shown, f"too large: {size} bytes, the limit for this file is {max_bytes}")
        chunks = []
        remaining = size
        while remaining > 0:
            chunk = os.read(descriptor, remaining)
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)
    except OSError as error:
        raise InvalidModelError(shown, describe_os_error(error)) from error
    finally:
        os.close(descriptor)
