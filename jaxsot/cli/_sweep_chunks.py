"""Sweep chunk files: written atomically and durably (exclusive temporary, fsync, rename), each with a
checksum record, and verified on --resume (`save_chunk`, `verify_chunks`).
"""

import contextlib
import hashlib
import io
import json
import os
import pathlib
import tempfile

import numpy as onp
from ._paths import file_mode


TEMPORARY_SUFFIX = ".tmp"
"""Temporary files are `.<name>.<random>.tmp` next to their target (see `_temporary`)."""


@contextlib.contextmanager
def _temporary(path: pathlib.Path):
    """A new temporary file next to `path` with an unpredictable name, created exclusively (a
    planted link cannot redirect the write); yields (binary handle, its path). Renamed over `path`
    when the block succeeds (after fsync), removed when it fails."""
    try:
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX)
    except OSError as error:
        raise OSError(error.errno, error.strerror, str(path)) from None
    try:
        os.fchmod(handle, file_mode())  # the umask's permissions, not mkstemp's 0600
        with os.fdopen(handle, "wb") as file:
            yield file, pathlib.Path(name)
            if not file.closed:
                file.flush()
                os.fsync(file.fileno())
        if file.closed:  # written by name (NetCDF): sync what is on disk now
            written = os.open(name, os.O_RDONLY)
            try:
                os.fsync(written)
            finally:
                os.close(written)
        os.replace(name, path)
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        if isinstance(error, OSError) and error.errno:  # disk full, file-size limit: name the file, not the temporary
            raise OSError(error.errno, error.strerror, str(path)) from None
        raise


def _sync_directory(folder: pathlib.Path) -> None:
    # A rename is durable only once the directory entry is on disk.
    directory = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def atomic_write_bytes(path: pathlib.Path, data: bytes) -> None:
    """Write a file atomically and durably (exclusive unpredictable temporary, fsync, rename)."""
    with _temporary(path) as (file, _):
        file.write(data)


def atomic_save_npz(path: pathlib.Path, arrays: dict) -> None:
    """Save a chunk (.npz) atomically and durably; the temporary is removed if anything fails."""
    with _temporary(path) as (file, _):
        onp.savez(file, **arrays)
    _sync_directory(path.parent)


def remove_temporaries(folder: pathlib.Path) -> int:
    """Remove the temporaries a killed run left in `folder` (`.<name>.<random>.tmp`); returns how many.
    Call it only while holding the folder's lock (no other writer)."""
    count = 0
    for path in pathlib.Path(folder).glob(f".*{TEMPORARY_SUFFIX}"):
        if path.is_file() and not path.is_symlink():
            with contextlib.suppress(OSError):
                path.unlink()
                count += 1
    return count


def chunk_path(out: pathlib.Path, index: int) -> pathlib.Path:
    return out / "chunks" / f"chunk_{index:06d}.npz"


def checksum_path(out: pathlib.Path, index: int) -> pathlib.Path:
    return out / "chunks" / f"chunk_{index:06d}.json"


def save_chunk(out: pathlib.Path, index: int, arrays: dict, digest: str) -> None:
    """Write chunk `index` (.npz, atomically) and then its record chunk_<index>.json: index, first
    point, sweep identity, size and SHA-256 of the file's bytes (what `verify_chunks` checks)."""
    buffer = io.BytesIO()
    onp.savez(buffer, **arrays)
    data = buffer.getvalue()
    path = chunk_path(out, index)
    atomic_write_bytes(path, data)
    _sync_directory(path.parent)
    record = {"index": index, "start": int(arrays["start"]), "identity_hash": digest, "bytes": len(data),
              "sha256": hashlib.sha256(data).hexdigest()}
    atomic_write_bytes(checksum_path(out, index), json.dumps(record).encode())


def verify_chunks(out: pathlib.Path, num_chunks: int, digest: str, chunk_points: int, num_points: int):
    """(chunks whose file is intact and in its place, {index: why not} for the others present).

    A chunk counts only when its record exists, the file's SHA-256 and size equal the record's, and
    record and file both name this index (first point), this sweep's identity and the expected
    number of points; anything else (flipped bytes, a cut or empty file, a chunk copied over another,
    a missing record) is reported and computed again.
    """
    done, damaged = set(), {}
    for index in range(num_chunks):
        path, record_path = chunk_path(out, index), checksum_path(out, index)
        if not os.path.lexists(path):
            continue
        start = index * chunk_points
        try:
            data = path.read_bytes() if path.is_file() and not path.is_symlink() else None
            if data is None:
                raise ValueError("is not a regular file")
            try:
                record = json.loads(record_path.read_bytes())
            except (OSError, ValueError):
                raise ValueError(f"has no readable checksum record ({record_path.name})") from None
            if not isinstance(record, dict):
                raise ValueError(f"has no readable checksum record ({record_path.name})")
            if record.get("index") != index or record.get("start") != start:
                raise ValueError(f"has the record of another chunk ({record.get('index')!r})")
            if record.get("identity_hash") != digest:
                raise ValueError("belongs to another sweep")
            if len(data) != record.get("bytes") or hashlib.sha256(data).hexdigest() != record.get("sha256"):
                raise ValueError(f"is damaged ({len(data)} bytes; its checksum differs from the one recorded)")
            with onp.load(io.BytesIO(data)) as arrays:
                if str(arrays["identity_hash"]) != digest or int(arrays["start"]) != start:
                    raise ValueError("holds another chunk's points")
                if len(arrays["status"]) != min(chunk_points, num_points - start):
                    raise ValueError("has the wrong number of points")
        except ValueError as error:
            damaged[index] = str(error)
            continue
        except (OSError, KeyError, EOFError) as error:
            damaged[index] = f"cannot be read ({type(error).__name__})"
            continue
        done.add(index)
    return done, damaged


def record_chunk_checksums(out: pathlib.Path, num_chunks: int) -> None:
    """Copy every chunk's record into manifest.json ("chunks"), for readers of the folder."""
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_bytes())
    manifest["chunks"] = [json.loads(checksum_path(out, index).read_bytes()) for index in range(num_chunks)]
    atomic_write_bytes(manifest_path, json.dumps(manifest, indent=2, allow_nan=False).encode())
