"""Paths the CLI reads and writes, checked before any work: regular files only, limits, permissions, locks.

No physics here; physics modules never import this file.
"""

import contextlib
import os
import pathlib
import stat
import tempfile

from ._config import ConfigError

MAX_CONFIG_BYTES = 1 << 20
"""Largest configuration file read (1 MiB; the embedded defaults are ~2 kB)."""


class UsageError(ValueError):
    """A bad command-line argument or path (--out, data files): the message names it and what is allowed."""


def os_error_text(error: OSError) -> str:
    """'reason: path' for an OSError (without the errno prefix)."""
    reason = error.strerror or str(error)
    return f"{reason}: {error.filename!r}" if error.filename else reason


def special_file_kind(mode: int) -> str | None:
    """'a folder', 'a FIFO', ... for a file mode that is not a regular file (None for one)."""
    if stat.S_ISREG(mode):
        return None
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISLNK, "a symbolic link"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def shown(path) -> str:
    """A path for a one-line message: quoted, control characters (a newline in a name) escaped."""
    return repr(str(path))


def current_umask() -> int:
    """The process's umask (read without changing it).

    Returns:
        The permission bits that new files and folders lose.
    """
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The permissions of a new file under the process's umask (0o666 & ~umask), like any Unix tool."""
    return 0o666 & ~current_umask()


def check_input_file(path, what: str, error=None) -> pathlib.Path:
    """Check an input path without opening it: an existing regular file (a FIFO, device, socket or
    folder is refused before reading, so nothing blocks). Raises `error` (default ConfigError)."""
    error = error or ConfigError
    file = pathlib.Path(path)
    try:
        info = os.stat(file)
    except FileNotFoundError:
        raise error(f"{what} {shown(path)} does not exist") from None
    except OSError as failure:
        raise error(f"{what} {shown(path)} cannot be read ({failure.strerror or failure})") from None
    kind = special_file_kind(info.st_mode)
    if kind:
        raise error(f"{what} {shown(path)} is {kind}; allowed: a regular file")
    return file


def read_regular_file(path, limit: int) -> bytes:
    """At most limit + 1 bytes of a regular file, opened without blocking (a FIFO swapped in after
    the check is refused, not waited on). Raises OSError or ValueError (not a regular file)."""
    handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    try:
        if special_file_kind(os.fstat(handle).st_mode):
            raise ValueError("not a regular file")
        chunks, size = [], 0
        while size <= limit:
            block = os.read(handle, min(1 << 20, limit + 1 - size))
            if not block:
                break
            chunks.append(block)
            size += len(block)
        return b"".join(chunks)
    finally:
        os.close(handle)


def check_output_file(path, option: str, *, force: bool = False) -> pathlib.Path:
    """Check a single output file path before any work: its folder exists and is writable, and the
    path is new, or (force=True) an existing regular file. A folder, device, FIFO, socket or symbolic
    link is refused, and so is an existing file without force. Raises UsageError."""
    file = pathlib.Path(path)
    if not str(path).strip() or "\x00" in str(path):
        raise UsageError(f"{option} {shown(path)} is not a usable file path; allowed: a file path")
    folder = file.parent
    try:
        if os.path.lexists(file):
            kind = special_file_kind(os.lstat(file).st_mode)
            if kind:
                raise UsageError(f"{option} {shown(path)} is {kind}; allowed: a regular file path")
            if not force:
                raise UsageError(f"{option} {shown(path)} already exists; allowed: --force to replace it, or a new file path")
        if not folder.is_dir():
            raise UsageError(f"{option} {shown(path)}: the folder {shown(folder)} does not exist; allowed: a file in an existing folder")
        handle, probe = tempfile.mkstemp(dir=folder, prefix=".jaxsot-write-test-", suffix=".tmp")
        os.close(handle)
        os.unlink(probe)
    except OSError as error:
        raise UsageError(
            f"{option} {shown(path)}: cannot write in {shown(folder)} ({error.strerror or error}); allowed: a writable folder"
        ) from None
    return file


def check_file_size_limit(need: float, what: str, path) -> None:
    """Refuse before any work when the process's file-size limit (ulimit -f, RLIMIT_FSIZE) is below
    the size a file will have (`need` bytes, a lower estimate): the write would fail at the end."""
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    except (ImportError, OSError, ValueError):
        return
    if limit != resource.RLIM_INFINITY and need > limit:
        raise UsageError(
            f"{what} {shown(path)} will be about {need / 1e6:.3g} MB, above this process's file-size limit of "
            f"{limit / 1e6:.3g} MB (ulimit -f); allowed: a higher limit, or fewer values"
        )


@contextlib.contextmanager
def hold_lock(folder: pathlib.Path, name: str = ".lock"):
    """Hold an exclusive lock on `folder/name` (fcntl.flock) for the duration of the block.

    A second process that asks for the same lock gets UsageError at once (no waiting). The lock
    goes with the process (also after kill -9); the lock file stays (it holds the last owner's pid).
    """
    try:
        import fcntl
    except ImportError:  # not POSIX: no locking
        yield None
        return
    path = pathlib.Path(folder) / name
    try:
        handle = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
    except OSError as error:
        raise UsageError(f"cannot create the lock file {str(path)!r} ({os_error_text(error)})") from None
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            owner = os.pread(handle, 32, 0).decode(errors="replace").strip()
            raise UsageError(
                f"{str(folder)!r} is in use by another jaxsot process (lock {str(path)!r} is held"
                f"{', pid ' + owner if owner.isdigit() else ''}); allowed: wait for it to finish, or another --out"
            ) from None
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"{os.getpid()}\n".encode(), 0)
        yield path
    finally:
        os.close(handle)  # releases the lock
