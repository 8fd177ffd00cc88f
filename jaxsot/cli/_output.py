"""An output folder is one run: checked and staged beside --out, written file by file atomically, and
published in one rename with its provenance manifest (`output_session`, `prepare_out`, `atomic_output`).

No physics here; physics modules never import this file.
"""

import contextlib
import json
import os
import pathlib
import shutil
import signal
import stat
import sys
import tempfile
import time

from ._paths import MAX_CONFIG_BYTES, UsageError, current_umask, file_mode, os_error_text, read_regular_file, shown, special_file_kind

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
            try:
                out.mkdir()
                created = True
            except FileExistsError:
                # Another process made it between the two calls (the processes of one distributed
                # sweep share --out): an existing folder, checked as such below.
                if os.path.islink(out) or not out.is_dir():
                    raise
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
        with atomic_output(self.folder / MANIFEST) as file:
            file.write(text)
        folder_mode = 0o777 & ~current_umask()
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
