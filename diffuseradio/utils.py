"""Small helpers shared across the package."""

import os
import tempfile
from pathlib import Path

__all__ = ["atomic_write"]


def atomic_write(path, write):
    """Write a file under a temporary name in its folder, then rename it.

    An interrupted or failed write leaves no partial file behind.

    Parameters
    ----------
    path : str or os.PathLike
        Final file name.
    write : callable
        ``write(temporary_path)`` writes the file; the temporary name keeps
        ``path``'s suffix, so writers that pick a format from it still work.
    """
    path = Path(path)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=path.suffix, dir=path.parent
    )
    os.close(handle)
    try:
        write(temporary)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
