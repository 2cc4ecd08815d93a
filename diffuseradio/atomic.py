"""Small helpers shared across the package."""

import contextlib
import os
import secrets
from pathlib import Path

__all__ = ["atomic_write", "publish", "temporary_sibling"]


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
