"""The Dask runner of surveys and cluster mode: a client, and tasks gathered as they finish.

One rule for both: a task that fails is reported with its reason and the
others run on; a failure is never fatal to the run.
"""

import contextlib
import logging
import os

from ..exceptions import DiffuseRadioError

__all__ = [
    "distributed_module",
    "connected_client",
    "dask_client",
    "default_workers",
    "gather_as_completed",
]

log = logging.getLogger(__name__)


def distributed_module():
    """The ``distributed`` package, or an ImportError that says how to install it."""
    try:
        import distributed
    except ImportError as err:
        raise ImportError(
            "surveys and parallel cluster runs use dask.distributed, which is not installed: "
            "pip install diffuseradio[survey]"
        ) from err
    return distributed


@contextlib.contextmanager
def connected_client(client):
    """The client given, or one connected to the scheduler at an address (closed after).

    Parameters
    ----------
    client : distributed.Client or str
        A client, or a scheduler address such as ``"tcp://host:8786"``.

    Yields
    ------
    distributed.Client

    Raises
    ------
    diffuseradio.DiffuseRadioError
        If the scheduler cannot be reached.
    """
    distributed = distributed_module()
    if isinstance(client, distributed.Client):
        yield client
        return
    try:
        connected = distributed.Client(client)
    except OSError as err:
        raise DiffuseRadioError(f"cannot reach the Dask scheduler at {client!r}: {err}") from err
    with connected:
        yield connected


@contextlib.contextmanager
def dask_client(client, n_workers, threads_per_worker, device):
    """:func:`connected_client`, or with no client a local cluster's.

    Parameters
    ----------
    client : distributed.Client, str or None
    n_workers : int or None
        Workers of a local cluster (default: one per GPU, else one per
        ``threads_per_worker`` cores).
    threads_per_worker : int
    device : str
        ``"auto"`` counts the GPUs for the default number of workers.

    Yields
    ------
    distributed.Client
    """
    if client is not None:
        with connected_client(client) as connected:
            yield connected
        return
    distributed = distributed_module()
    n_workers = n_workers or default_workers(threads_per_worker, device)
    with (
        _quiet_distributed(),
        distributed.LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            host="127.0.0.1",  # scheduler, workers and dashboard on this machine only
            dashboard_address="127.0.0.1:0",
        ) as cluster,
        distributed.Client(cluster) as local,
    ):
        log.info("local Dask cluster of %d workers: %s", n_workers, local.dashboard_link)
        yield local


@contextlib.contextmanager
def _quiet_distributed():
    """dask.distributed's own INFO lines (and shutdown chatter) only with -v."""
    import logging

    logger = logging.getLogger("distributed")
    level = logger.level
    if not log.isEnabledFor(logging.INFO):
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def default_workers(threads_per_worker, device):
    """One worker per GPU (with ``device="auto"``), else one per ``threads_per_worker`` cores."""
    import torch

    gpus = torch.cuda.device_count() if device == "auto" else 0
    return gpus or max(1, (os.cpu_count() or 1) // threads_per_worker)


def gather_as_completed(client, futures, *, failed=None, progress=True, unit="task", desc=None):
    """Results of Dask futures as they finish; a failed task is reported, never fatal.

    Each future is released as soon as its result is read (or losing the
    worker that holds it would make the scheduler run the task again); the
    futures not read when the caller stops are cancelled.

    Parameters
    ----------
    client : distributed.Client
    futures : dict
        ``{future: key}``.
    failed : callable, optional
        ``failed(result)`` is True for a result that reports a failure (the
        failures are counted on the progress bar with the tasks that raised).
    progress : bool, optional
        Show a progress bar.
    unit, desc : str, optional
        Of the progress bar.

    Yields
    ------
    key
        The future's key.
    result
        Its result, or None when it raised.
    error : Exception or None
        What it raised (also when its workers were lost).
    """
    from tqdm.auto import tqdm

    distributed = distributed_module()
    pending = dict(futures)
    failures = 0
    try:
        with tqdm(total=len(pending), unit=unit, desc=desc, disable=not progress) as bar:
            for future in distributed.as_completed(list(pending)):
                key = pending.pop(future)
                try:
                    result, error = future.result(), None
                except Exception as err:  # the task raised, or never returned
                    result, error = None, err
                future.release()
                if error is not None or (failed is not None and failed(result)):
                    failures += 1
                    bar.set_postfix(failed=failures)
                bar.update()
                yield key, result, error
    finally:
        client.cancel(list(pending))
