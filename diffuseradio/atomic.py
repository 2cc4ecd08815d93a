"""Small helpers shared across the package."""

import contextlib
import json
import os
import secrets
import socket
import time
from pathlib import Path

__all__ = ["atomic_write", "publish", "temporary_sibling", "folder_lock"]


@contextlib.contextmanager
def temporary_sibling(path):
    """Yield an unused temporary path next to ``path``; remove it if anything fails.

    The file is not created here, so whoever writes it gets the usual
    permissions (umask), which the final file keeps after the rename. The
    temporary name keeps ``path``'s suffix, so writers that choose a format
    from it still work.

    Parameters
    ----------
    path : str or os.PathLike

    Yields
    ------
    pathlib.Path
    """
    path = Path(path)
    temporary = path.with_name(f".{path.stem}.{secrets.token_hex(8)}.tmp{path.suffix}")
    try:
        yield temporary
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def publish(temporary, path):
    """Give a finished temporary file the usual permissions and rename it to ``path``.

    Some writers (``tempfile``, safetensors) create files readable by their
    owner only; published files get ``0o666`` less the process umask, as a
    plain ``open`` would give them.
    """
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(temporary, 0o666 & ~mask)
    os.replace(temporary, path)


def atomic_write(path, write):
    """Write a file under a temporary name in its folder, then rename it.

    An interrupted or failed write leaves no partial file behind.

    Parameters
    ----------
    path : str or os.PathLike
        Final file name.
    write : callable
        ``write(temporary_path)`` writes the file (see
        :func:`temporary_sibling` for the name).
    """
    with temporary_sibling(path) as temporary:
        write(temporary)
        publish(temporary, path)


@contextlib.contextmanager
def folder_lock(folder, what):
    """Hold ``folder/.lock`` while a run writes into the folder.

    A second run into the same folder is refused while the first holds it.
    A lock left by a process that no longer runs on this machine (killed) is
    taken over.

    Parameters
    ----------
    folder : pathlib.Path
        An existing folder.
    what : str
        The kind of run, for messages (e.g. ``"survey"``).

    Raises
    ------
    diffuseradio.OutputLockedError
        If another running process holds the lock.
    """
    from .exceptions import OutputLockedError

    lock = Path(folder) / ".lock"
    mine = {"pid": os.getpid(), "host": socket.gethostname(), "what": what, "started": time.time()}
    for _ in range(2):
        try:
            descriptor = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            holder = _lock_holder(lock)
            if holder is not None and _alive(holder):
                started = time.strftime("%Y-%m-%d %H:%M", time.localtime(holder["started"]))
                raise OutputLockedError(
                    f"another {holder.get('what', 'run')} (process {holder['pid']} on "
                    f"{holder['host']}, started {started}) is writing into {folder}; wait for "
                    f"it to end, or remove {lock} if it no longer runs"
                ) from None
            lock.unlink(missing_ok=True)  # its process is gone
            continue
        with os.fdopen(descriptor, "w") as handle:
            json.dump(mine, handle)
        break
    try:
        yield lock
    finally:
        lock.unlink(missing_ok=True)


def _lock_holder(lock):
    try:
        holder = json.loads(lock.read_text())
        return holder if {"pid", "host", "started"} <= set(holder) else None
    except (OSError, ValueError):
        return None


def _alive(holder):
    """Whether the lock's process runs (always assumed for another machine's)."""
    if holder["host"] != socket.gethostname():
        return True
    try:
        os.kill(int(holder["pid"]), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
