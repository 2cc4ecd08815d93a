"""Small helpers shared across the package."""

import contextlib
import os
import secrets
from pathlib import Path

__all__ = ["atomic_write", "temporary_sibling"]


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
        os.replace(temporary, path)
