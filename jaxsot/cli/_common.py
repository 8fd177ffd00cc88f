"""Plumbing shared by the CLI subcommands: option objects -> library inputs, and result files.

No physics here; physics modules never import this file.
"""

import contextlib
import json
import math
import os
import pathlib
import shutil
import signal
import stat
import sys
import tempfile
import time
from typing import NoReturn

from ._config import ConfigError

REPORT_BUGS = "this is a bug in jaxsot: please report it with the command and the traceback (--debug)"
MAX_CONFIG_BYTES = 1 << 20
"""Largest configuration file read (1 MiB; the embedded defaults are ~2 kB)."""


class UsageError(ValueError):
    """A bad command-line argument or path (--out, data files): the message names it and what is allowed."""


def fail(message: str, status: int = 2) -> NoReturn:
    """Print one line `jaxsot: error: ...` on stderr and exit with `status` (2: the user's input)."""
    line = " ".join(str(message).split())  # one line, whatever the message held
    print(f"jaxsot: error: {line}", file=sys.stderr)
    raise SystemExit(status)


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


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The permissions of a new file under the process's umask (0o666 & ~umask), like any Unix tool."""
    return 0o666 & ~_umask()


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


def _inside(path, folder: pathlib.Path) -> bool:
    try:
        pathlib.Path(os.path.realpath(path)).relative_to(os.path.realpath(folder))
        return True
    except ValueError:
        return False


def prepare_out(path, option: str = "--out", *, inputs=(), staged: bool = True) -> pathlib.Path:
    """Check the output folder before any work, create it (with parents), and (inside `output_session`,
    staged=True) set up the run's staging folder: files written to `path/...` go to the staging folder
    and the whole folder is published at the end (`output_session`). Returns `path`.

    Raises UsageError naming the option, the path and why: an existing file or special file, a
    symbolic link, a path under a file, no permission, a read-only file system, a folder holding
    files that jaxsot did not write, an input file inside it (`inputs`: paths the command reads), or
    another jaxsot process publishing into it.
    """
    out = pathlib.Path(path)
    if not str(path).strip():
        raise UsageError(f"{option} is empty; allowed: a folder path")
    if "\x00" in str(path):
        raise UsageError(f"{option} {shown(path)} contains a NUL character; allowed: a folder path")
    created = False
    try:
        info = os.lstat(out) if os.path.lexists(out) else None
        if info is not None and stat.S_ISLNK(info.st_mode) and staged:
            raise UsageError(
                f"{option} {shown(path)} is a symbolic link (a run replaces its folder, not the link's target); "
                f"allowed: the folder it points to ({shown(os.path.realpath(out))}) or a new folder"
            )
        if out.exists() and not out.is_dir():
            kind = special_file_kind(os.stat(out).st_mode) or "an existing file"
            raise UsageError(f"{option} {shown(path)} is {kind}, not a folder; allowed: a new or existing folder")
        if not out.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            out.mkdir()
            created = True
    except OSError as error:
        raise UsageError(
            f"{option} {shown(path)} cannot be created ({os_error_text(error)}); allowed: a folder path you can write to"
        ) from None
    try:
        try:
            handle, probe = tempfile.mkstemp(dir=out, prefix=".jaxsot-write-test-", suffix=".tmp")
            os.close(handle)
            os.unlink(probe)
        except OSError as error:
            raise UsageError(
                f"{option} {shown(path)} is not writable ({error.strerror or error}); allowed: a folder you can write to"
            ) from None
        for given in inputs:
            if given is not None and staged and _inside(given, out):
                raise UsageError(
                    f"{shown(given)} is inside {option} {shown(path)}, which this run replaces with its own files; "
                    f"allowed: an input outside {option} (copy it elsewhere first), or another {option}"
                )
        if staged and _SESSION is not None:
            _SESSION.stage(out, option, created)
    except BaseException:
        if created:  # refused: leave no empty folder behind
            with contextlib.suppress(OSError):
                os.rmdir(out)
        raise
    return out


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


def rendezvous(coordinator: str, num_processes: int, process_id: int, timeout: float) -> None:
    """Meet every process of a distributed run at the coordinator's address before JAX does, so that a
    process that never comes (or a wrong address) gives one UsageError after `timeout` seconds
    instead of an abort inside the JAX runtime. Process 0 listens on the coordinator's port (then
    closes it for JAX's service); the others connect, retrying, and wait for process 0's go-ahead."""
    import socket

    host, _, port = coordinator.rpartition(":")
    host, port = host.strip("[]"), int(port)
    deadline = time.monotonic() + timeout
    fix = "allowed: start all --num-processes processes with the same --coordinator, or a longer --coordinator-timeout"
    if num_processes == 1:
        return
    if process_id == 0:
        try:
            server = socket.create_server((host, port), family=socket.AF_INET6 if ":" in host else socket.AF_INET)
        except OSError as error:
            raise UsageError(f"--coordinator {coordinator}: cannot listen there ({error.strerror or error}); {fix}") from None
        peers = {}
        try:
            while len(peers) < num_processes - 1:
                server.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    peer, _ = server.accept()
                    peer.settimeout(max(0.01, deadline - time.monotonic()))
                    number = int(peer.recv(16).decode().strip() or -1)
                except (socket.timeout, ValueError, OSError):
                    if time.monotonic() >= deadline:
                        raise UsageError(
                            f"--coordinator {coordinator}: {len(peers) + 1} of {num_processes} processes arrived within "
                            f"--coordinator-timeout {timeout:g} s; {fix}"
                        ) from None
                    continue
                if 0 < number < num_processes and number not in peers:
                    peers[number] = peer
                else:
                    peer.close()
            for peer in peers.values():
                with contextlib.suppress(OSError):
                    peer.sendall(b"go\n")
        finally:
            for peer in peers.values():
                peer.close()
            server.close()
        return
    while True:
        try:
            with socket.create_connection((host, port), timeout=max(0.01, min(2.0, deadline - time.monotonic()))) as link:
                link.sendall(f"{process_id}\n".encode())
                link.settimeout(max(0.01, deadline - time.monotonic()))
                if link.recv(8).startswith(b"go"):
                    return
        except OSError:
            pass
        if time.monotonic() >= deadline:
            raise UsageError(f"--coordinator {coordinator}: process 0 was not reached within --coordinator-timeout {timeout:g} s; {fix}")
        time.sleep(0.2)


def set_precision(precision: str):
    """Switch JAX to float64 or float32 for this process (the CLI chooses; the library follows inputs)."""
    import jax

    jax.config.update("jax_enable_x64", precision == "float64")
    import jax.numpy as jnp

    return jnp.float64 if precision == "float64" else jnp.float32


def enable_compilation_cache() -> str | None:
    """Keep compiled programs between runs in JAX's persistent cache (the second `jaxsot run` skips
    most of its compilation). The folder is $JAX_COMPILATION_CACHE_DIR, else ~/.cache/jaxsot/jax;
    JAXSOT_COMPILATION_CACHE=0 switches it off. Returns the folder, or None when off."""
    if os.environ.get("JAXSOT_COMPILATION_CACHE", "1").strip().lower() in ("0", "false", "no", "off"):
        return None
    import jax

    folder = os.environ.get("JAX_COMPILATION_CACHE_DIR") or str(pathlib.Path.home() / ".cache" / "jaxsot" / "jax")
    try:
        pathlib.Path(folder).mkdir(parents=True, exist_ok=True)
    except OSError:
        return None  # an unwritable home: run without the cache rather than fail
    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    return folder


def use_cpu_cores_as_devices() -> None:
    """Expose each CPU core as a JAX device, so ensembles and sweeps split their work over the cores.

    Must run before JAX starts its backend; an XLA_FLAGS setting of the user's wins. GPUs are
    unaffected (the flag only concerns the host platform).
    """
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_force_host_platform_device_count" not in flags:
        count = max(1, min(os.cpu_count() or 1, 16))
        os.environ["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={count}".strip()


# ------------------------------------------------------------------------------------------------
# An output folder is one run: staged beside --out, published in one rename (see `output_session`).

MANIFEST = "jaxsot-run.json"
"""The provenance file of a published output folder: command, version, time and every file with
its size and SHA-256. A folder is replaced by a later run only when all its entries are listed here."""
_SESSION = None


class Terminated(KeyboardInterrupt):
    """SIGTERM (or SIGHUP) while a command runs: handled like Ctrl-C (staged output is discarded)."""


def _rename_exchange(a: pathlib.Path, b: pathlib.Path) -> bool:
    """Swap two folders in one step (Linux renameat2 RENAME_EXCHANGE); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        function = libc.renameat2
    except (OSError, AttributeError):
        return False
    function.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, exchange = -100, 2
    if function(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), exchange) == 0:
        return True
    code = ctypes.get_errno()
    if code in (22, 38, 95):  # EINVAL, ENOSYS, EOPNOTSUPP: this file system cannot swap
        return False
    raise OSError(code, os.strerror(code), str(b))


def _sha256(path: pathlib.Path) -> str:
    import hashlib

    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(folder) -> dict | None:
    """The provenance manifest of a published jaxsot output folder, or None (none, or unreadable)."""
    path = pathlib.Path(folder) / MANIFEST
    try:
        if special_file_kind(os.lstat(path).st_mode):
            return None
        manifest = json.loads(read_regular_file(path, MAX_CONFIG_BYTES).decode("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("files"), dict):
        return None
    return manifest


class _Stage:
    """One staged output folder: the lock beside it, the staging folder, the publish."""

    def __init__(self, out: pathlib.Path, option: str, created: bool):
        self.out, self.option, self.created = out, option, created
        self.final = pathlib.Path(os.path.abspath(out))
        self.lock_handle = None
        parent = self.final.parent
        beside = os.access(parent, os.W_OK | os.X_OK)
        # Beside --out (one rename publishes it); inside --out when its parent is not writable
        # (then files are moved in one by one and the manifest, written last, marks the folder complete).
        self.inner = not beside
        lock = (parent / f".{self.final.name}.jaxsot-lock") if beside else (self.final / ".jaxsot-lock")
        self._lock(lock)
        try:
            self._check_contents()
            home = parent if beside else self.final
            prefix = f".{self.final.name}.jaxsot-stage-" if beside else ".jaxsot-stage-"
            for old in home.glob(prefix + "*"):  # left by a killed run (we hold the lock: no one else's)
                shutil.rmtree(old, ignore_errors=True)
            for old in parent.glob(f".{self.final.name}.jaxsot-old-*"):
                shutil.rmtree(old, ignore_errors=True)
            self.folder = pathlib.Path(tempfile.mkdtemp(dir=home, prefix=prefix))
        except BaseException:
            self._unlock()
            raise

    def _lock(self, path: pathlib.Path) -> None:
        try:
            import fcntl
        except ImportError:  # not POSIX: no locking
            return
        try:
            handle = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o644)
        except OSError as error:
            raise UsageError(f"cannot create the lock file {shown(path)} ({os_error_text(error)})") from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            same = os.path.exists(path) and os.stat(path).st_ino == os.fstat(handle).st_ino
        except OSError:
            same = False
        if not same:  # held, or released and removed by its owner just now
            owner = os.pread(handle, 32, 0).decode(errors="replace").strip()
            os.close(handle)
            raise UsageError(
                f"{self.option} {shown(self.out)} is in use by another jaxsot process (lock {shown(path)}"
                f"{', pid ' + owner if owner.isdigit() else ''}); allowed: wait for it to finish, or another {self.option}"
            )
        os.ftruncate(handle, 0)
        os.pwrite(handle, f"{os.getpid()}\n".encode(), 0)
        self.lock_handle, self.lock_path = handle, path

    def _unlock(self) -> None:
        if self.lock_handle is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.lock_path)  # while still held: a waiting process sees a new inode and refuses
            os.close(self.lock_handle)
            self.lock_handle = None

    def _entries(self) -> list[str]:
        hidden = (".jaxsot-lock", ".jaxsot-stage-")
        return sorted(name for name in os.listdir(self.final) if not name.startswith(hidden))

    def _check_contents(self) -> None:
        """An existing folder is replaced only when it holds nothing but a complete earlier jaxsot run."""
        entries = self._entries()
        if not entries:
            return
        manifest = read_manifest(self.final)
        listed = set(manifest["files"]) if manifest else set()
        foreign = [name for name in entries if name != MANIFEST and name not in listed]
        if manifest is None or foreign:
            names = ", ".join(shown(n) for n in (foreign or entries)[:4]) + (" ..." if len(foreign or entries) > 4 else "")
            raise UsageError(
                f"{self.option} {shown(self.out)} holds {names}, which no earlier jaxsot run wrote there "
                f"(no {MANIFEST} listing them); a run replaces its whole folder; allowed: a new or empty folder, "
                f"or one written by jaxsot"
            )
        for name in listed:
            path = self.final / name
            if os.path.lexists(path) and special_file_kind(os.lstat(path).st_mode):
                raise UsageError(
                    f"{shown(str(self.out / name))} is {special_file_kind(os.lstat(path).st_mode)}, not the file jaxsot wrote there; "
                    f"allowed: remove it, or another {self.option}"
                )

    def redirect(self, path: pathlib.Path) -> pathlib.Path | None:
        """Where a write to `path` goes while staged (None: not under this --out)."""
        absolute = pathlib.Path(os.path.abspath(path))
        if absolute == self.folder or self.folder in absolute.parents:
            return None  # already in the staging folder
        try:
            relative = absolute.relative_to(self.final)
        except ValueError:
            return None
        if not relative.parts:
            return None
        target = self.folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def visible(self, path) -> str:
        """The user's path for a path inside the staging folder (for messages)."""
        try:
            return str(self.out / pathlib.Path(path).relative_to(self.folder))
        except ValueError:
            return str(path)

    def publish(self, command: str) -> None:
        import jaxsot

        files = {}
        for path in sorted(p for p in self.folder.rglob("*") if p.is_file()):
            name = path.relative_to(self.folder).as_posix()
            files[name] = {"bytes": path.stat().st_size, "sha256": _sha256(path)}
        manifest = {
            "jaxsot_output": 1,
            "command": command,
            "jaxsot_version": jaxsot.__version__,
            "published_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "files": files,
        }
        # Folder entries (plots/) are listed too: a later run may replace them.
        for path in self.folder.rglob("*"):
            if path.is_dir():
                files.setdefault(path.relative_to(self.folder).parts[0], {"folder": True})
        text = json.dumps(manifest, indent=2) + "\n"
        write_text(self.folder / MANIFEST, text)
        folder_mode = 0o777 & ~_umask()
        for path in [self.folder, *(p for p in self.folder.rglob("*") if p.is_dir())]:
            os.chmod(path, folder_mode)
        if self.inner:
            self._publish_inside()
        elif not self._entries():
            os.rename(self.folder, self.final)  # replaces the empty folder in one step
        elif _rename_exchange(self.folder, self.final):
            shutil.rmtree(self.folder, ignore_errors=True)  # the previous run, now at the staging name
        else:
            old = pathlib.Path(tempfile.mkdtemp(dir=self.final.parent, prefix=f".{self.final.name}.jaxsot-old-"))
            os.rename(self.final, old / "previous")
            os.rename(self.folder, self.final)
            shutil.rmtree(old, ignore_errors=True)
        with contextlib.suppress(OSError):
            handle = os.open(self.final.parent, os.O_RDONLY)
            try:
                os.fsync(handle)
            finally:
                os.close(handle)

    def _publish_inside(self) -> None:
        """Publish a staging folder inside --out: the manifest goes first and comes back last."""
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.final / MANIFEST)
        new = {p.name for p in self.folder.iterdir()}
        for name in self._entries():
            if name not in new:
                path = self.final / name
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
        for name in sorted(new - {MANIFEST}):
            target = self.final / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            os.replace(self.folder / name, target)
        os.replace(self.folder / MANIFEST, self.final / MANIFEST)
        os.rmdir(self.folder)

    def discard(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)
        if self.created:
            with contextlib.suppress(OSError):
                os.rmdir(self.final)  # only if still empty

    def close(self) -> None:
        self._unlock()


class _Session:
    def __init__(self):
        self.stages: list[_Stage] = []

    def stage(self, out: pathlib.Path, option: str, created: bool) -> None:
        self.stages.append(_Stage(out, option, created))

    def redirect(self, path):
        for stage in self.stages:
            target = stage.redirect(path)
            if target is not None:
                return stage, target
        return None, path


@contextlib.contextmanager
def output_session(command: str = "jaxsot"):
    """The frame of one command: output folders set up by `prepare_out` inside it are staged and
    published when the block ends normally (whatever the exit status), discarded when it raises
    (an error, Ctrl-C, SIGTERM as `Terminated`). A file-size limit gives an error (EFBIG) instead of
    killing the process (SIGXFSZ)."""
    global _SESSION
    if _SESSION is not None:  # nested (tests calling main in main): the outer frame publishes
        yield
        return
    session = _SESSION = _Session()
    handlers = {}

    def terminate(number, frame):
        raise Terminated(signal.Signals(number).name)

    try:
        for name, handler in (("SIGTERM", terminate), ("SIGHUP", terminate), ("SIGXFSZ", signal.SIG_IGN)):
            number = getattr(signal, name, None)
            if number is not None:
                with contextlib.suppress(ValueError, OSError):  # not the main thread: leave signals alone
                    handlers[number] = signal.signal(number, handler)
        try:
            yield session
        except BaseException:
            for stage in session.stages:
                stage.discard()
            raise
        for stage in session.stages:
            try:
                stage.publish(command)
            except OSError as error:
                stage.discard()
                raise OSError(error.errno, error.strerror, stage.visible(error.filename or stage.folder)) from None
    finally:
        for stage in session.stages:
            stage.close()
        _SESSION = None
        for number, handler in handlers.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(number, handler)


@contextlib.contextmanager
def atomic_output(path: pathlib.Path, mode: str = "w"):
    """Write `path` atomically: into an unpredictable, exclusively created temporary file in the same
    folder (so a planted link cannot redirect the write), then rename; removed again on failure.

    Permissions follow the umask. Inside an `output_session`, a path under a staged --out is written
    into its staging folder. An existing target that is not a regular file (a folder, FIFO, device)
    is refused; a failed write (disk full, file-size limit) raises OSError naming `path`."""
    path = pathlib.Path(path)
    stage, target = _SESSION.redirect(path) if _SESSION is not None else (None, path)
    if os.path.lexists(target) and special_file_kind(os.lstat(target).st_mode) not in (None, "a symbolic link"):
        raise UsageError(f"{shown(path)} is {special_file_kind(os.lstat(target).st_mode)}; allowed: a regular file path")
    try:
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as error:
        raise OSError(error.errno, error.strerror, str(path)) from None
    try:
        os.fchmod(handle, file_mode())
        with os.fdopen(handle, mode) as file:
            yield file
        os.replace(temporary, target)  # a symbolic link at `target` is replaced, never followed
    except BaseException as error:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        if isinstance(error, OSError) and error.errno:
            raise OSError(error.errno, error.strerror, str(path)) from None
        raise


def write_text(path: pathlib.Path, text: str) -> None:
    """Write a text file atomically (see `atomic_output`)."""
    with atomic_output(path) as file:
        file.write(text)


def _finite_or_null(value, where: str, found: list):
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()  # NumPy / JAX scalars and arrays -> Python numbers and lists
    if isinstance(value, float) and not math.isfinite(value):
        found.append(f"{where} = {value}")
        return None
    if isinstance(value, dict):
        return {str(k): _finite_or_null(v, f"{where}.{k}" if where else str(k), found) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_null(v, f"{where}[{i}]", found) for i, v in enumerate(value)]
    if isinstance(value, complex):
        found.append(f"{where} = {value} (complex)")
        return None
    if isinstance(value, pathlib.PurePath):
        return str(value)
    return value


def write_json(path: pathlib.Path, payload: dict) -> list[str]:
    """Write strict JSON atomically: a non-finite number becomes null and is listed under
    "non_finite_values" (never a bare NaN/Infinity); NumPy/JAX values become plain numbers.
    Returns that list."""
    found: list[str] = []
    clean = _finite_or_null(payload, "", found)
    if found:
        clean["non_finite_values"] = clean.get("non_finite_values", []) + found
    write_text(path, json.dumps(clean, indent=2, allow_nan=False) + "\n")
    return found


def save_figure(figure, path: pathlib.Path, dpi: int = 130) -> None:
    """Save a matplotlib figure atomically and close it."""
    import matplotlib.pyplot as plt

    suffix = pathlib.Path(path).suffix.lstrip(".") or "png"
    try:
        with atomic_output(path, "wb") as file:
            figure.savefig(file, dpi=dpi, format=suffix)
    finally:
        plt.close(figure)


def pyplot():
    """matplotlib.pyplot on the Agg backend, or None (with a message) when matplotlib is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot written (pip install 'jaxsot[plots]')")
        return None
    return plt



def read_config_text(path: str | None, default_text: str) -> tuple[str, str]:
    """(TOML text, where it came from) for a config path, or the embedded default.

    UTF-8 with or without a byte-order mark; at most MAX_CONFIG_BYTES. Raises ConfigError naming
    the file for a missing file, a folder, an unreadable, binary or non-UTF-8 file.
    """
    if path is None:
        return default_text, "embedded default"
    if not path or "\x00" in path:
        raise ConfigError(f"config file {path!r} is not a usable path; allowed: a TOML file")
    file = check_input_file(path, "config file")  # a FIFO or device is refused before it is opened
    try:
        data = read_regular_file(file, MAX_CONFIG_BYTES)
    except (OSError, ValueError) as error:
        reason = getattr(error, "strerror", None) or error
        raise ConfigError(f"config file {shown(path)} cannot be read ({reason})") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"config file {str(path)!r} is larger than {MAX_CONFIG_BYTES // 1024} KiB; allowed: a TOML configuration")
    if b"\x00" in data:
        raise ConfigError(f"config file {str(path)!r} holds NUL bytes (a binary file?); allowed: a UTF-8 TOML text file")
    try:
        text = data.decode("utf-8-sig")  # a byte-order mark (some editors write one) is not part of the TOML
    except UnicodeDecodeError as error:
        raise ConfigError(
            f"config file {str(path)!r} is not UTF-8 text (byte {data[error.start]:#04x} at offset {error.start}); "
            "allowed: a UTF-8 TOML text file"
        ) from None
    return text, shown(file)[1:-1] if not str(file).isprintable() else str(file)


def model_from_options(options, dtype):
    """ModelOptions (alpha_eV_nm, j_ex_eV, theta_deg, phi_deg, mass_ratio) -> RashbaFerromagnet; another
    [model] kind -> its model (cli._model_config.build_model)."""
    import jax.numpy as jnp

    import jaxsot
    from ._model_config import build_model, model_kind

    if model_kind(options) != "rashba":
        return build_model(options, dtype)

    return jaxsot.RashbaFerromagnet.from_angles(
        jnp.asarray(options.alpha_eV_nm, dtype),
        jnp.asarray(options.j_ex_eV, dtype),
        jnp.asarray(math.radians(options.theta_deg), dtype),
        jnp.asarray(math.radians(options.phi_deg), dtype),
        jnp.asarray(options.mass_ratio, dtype),
    )


def drive_from_options(options, dtype):
    """Drive options (kind, efield_V_per_m, direction_deg, ...) -> (drive E(t) [V/nm], unit direction)."""
    import jax.numpy as jnp

    import jaxsot
    from ..constants import V_PER_M_PER_V_PER_NM

    angle = math.radians(options.direction_deg)
    direction = (math.cos(angle), math.sin(angle))
    amplitude = jnp.asarray([direction[0], direction[1]], dtype) * (options.efield_V_per_m / V_PER_M_PER_V_PER_NM)
    if options.kind == "step":
        drive = jaxsot.StepDrive(amplitude)
    elif options.kind == "ramp":
        drive = jaxsot.RampDrive(amplitude, jnp.asarray(options.ramp_time_fs, dtype))
    elif options.kind == "smooth_ramp":
        drive = jaxsot.SmoothRampDrive(amplitude, jnp.asarray(options.ramp_time_fs, dtype))
    else:
        drive = jaxsot.SinusoidDrive(
            amplitude,
            jnp.asarray(options.frequency_THz * 1e-3, dtype),
            jnp.asarray(math.radians(options.phase_deg), dtype),
        )
    return drive, direction


def times_from_options(time_options, dtype):
    """TimeOptions -> the output times t = 0 .. t_end [fs], shape (num_steps,)."""
    import jax.numpy as jnp

    return jnp.linspace(0.0, time_options.t_end_fs, time_options.num_steps, dtype=dtype)


def tau_from_options(relaxation_options):
    """RelaxationOptions -> tau [fs], or None for tau_fs = inf (no relaxation)."""
    return None if math.isinf(relaxation_options.tau_fs) else relaxation_options.tau_fs


def write_table_csv(path: pathlib.Path, columns: dict) -> list[str]:
    """Write columns {"name [unit]": (T,) or (T, d) array} atomically; d > 1 gets _x/_y/_z suffixes.

    Returns the names of columns with non-finite values (written as nan/inf; say so in a note)."""
    import numpy as onp

    names, blocks = [], []
    for label, block in columns.items():
        block = onp.asarray(block, dtype=float)
        block = block[:, None] if block.ndim == 1 else block
        base, bracket, unit = label.partition(" [")
        suffixes = ["x", "y", "z"][: block.shape[1]] if block.shape[1] > 1 else [""]
        names += [f"{base}{'_' + s if s else ''}{bracket}{unit}" for s in suffixes]
        blocks.append(block)
    if len(set(names)) != len(names):
        raise ValueError(f"duplicate column names in {path.name}: {sorted(n for n in set(names) if names.count(n) > 1)}")
    table = onp.concatenate(blocks, axis=1)
    with atomic_output(path) as file:
        onp.savetxt(file, table, delimiter=",", header=",".join(names), comments="", fmt="%.10e")
    finite = onp.isfinite(table).all(axis=0)
    return [name for name, ok in zip(names, finite) if not ok]


def run_metadata(precision: str, source: str, config) -> dict:
    """The provenance block every results.json starts with (config: option objects or a plain dict)."""
    import jax

    import jaxsot

    from ._config import config_to_dict

    return {
        "jaxsot_version": jaxsot.__version__,
        "jax_version": jax.__version__,
        "backend": jax.default_backend(),
        "devices": jax.local_device_count(),
        "precision": precision,
        "config_source": source,
        "config": config if isinstance(config, dict) else config_to_dict(config),
    }


def parse_pairs(option, text, names, *, ranges=False, error=UsageError):
    """Parse an option like `alpha=0.05,j_ex=1` (or, ranges=True, `alpha=0.01:0.2`) with names from `names`:
    a dict of floats (or (low, high) pairs); one-line `error`s naming the option and the item."""
    out = {}
    for item in filter(None, (part.strip() for part in (text or "").split(","))):
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or name not in names:
            raise error(f"{option} {item!r} is not allowed; allowed: name=value with name in {', '.join(names)}")
        if name in out:
            raise error(f"{option} gives {name} twice; allowed: each parameter once")
        try:
            if ranges:
                low, colon, high = value.partition(":")
                if not colon:
                    raise ValueError
                out[name] = (float(low), float(high))
                if not all(math.isfinite(v) for v in out[name]) or not out[name][0] < out[name][1]:
                    raise ValueError
            else:
                out[name] = float(value)
                if not math.isfinite(out[name]):
                    raise ValueError
        except ValueError:
            raise error(f"{option} {item!r}: {value!r} is not {'low:high with low < high' if ranges else 'a finite number'}") from None
    return out
