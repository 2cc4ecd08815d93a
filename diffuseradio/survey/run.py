"""Surveys: many mosaics on a Dask cluster, resumable, merged and de-duplicated.

:func:`run_survey` runs :meth:`DiffuseDetector.detect
<diffuseradio.DiffuseDetector.detect>` on each mosaic of a survey with
`dask.distributed <https://distributed.dask.org>`_ (a local cluster by
default, or any running one), writes each mosaic's outputs atomically
(:func:`~diffuseradio.catalog.write_outputs`) and records them in a manifest, so that a rerun
skips the mosaics already done. The per-mosaic catalogues are then merged
into one survey catalogue, with the detections seen in the overlap of
neighbouring mosaics kept once (:func:`~diffuseradio.survey.deduplicate`), and optionally
cross-matched with a cluster catalogue.

Dask is an optional dependency: ``pip install diffuseradio[survey]``.
"""

import logging
import os
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import astropy.units as u
from astropy.table import QTable

from ..atomic import folder_lock
from ..catalog import crossmatch_table, read_catalogue
from ..catalog.products import mosaic_stem, remove_scratch
from ..models import load_model
from ..models.device import select_device
from .manifest import Manifest, file_state
from .merge import merge_regions, survey_catalog, survey_summary, write_survey
from .parallel import dask_client, distributed_module, gather_as_completed
from .workers import Job, error_reason, mosaic_outcome, process_mosaic, release_detectors

__all__ = ["SurveyResult", "run_survey"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, repr=False)
class SurveyResult:
    """What :func:`run_survey` produced.

    Attributes
    ----------
    catalog : `~astropy.table.QTable`
        The survey catalogue: the detections of all mosaics done, one row per
        source after :func:`deduplicate`, with the ``mosaic`` each comes from
        and its ``mosaic_offset``.
    summary : `~astropy.table.QTable`
        One row per input mosaic: ``mosaic``, ``status`` (``done`` or
        ``failed``), ``detections`` (in that mosaic), ``kept`` (in the survey
        catalogue), ``time``, ``resumed`` (done by an earlier run) and
        ``reason`` (why it failed).
    crossmatch : `~astropy.table.QTable` or None
        Survey detections matched with the cluster catalogue, when one was
        given.
    files : dict of pathlib.Path
        The survey files written: ``catalog``, ``regions``, ``summary``,
        ``manifest`` and ``crossmatch`` (when cross-matched).
    """

    catalog: QTable
    summary: QTable
    crossmatch: QTable | None
    files: dict

    @property
    def failed(self):
        """Stems of the mosaics that failed (see ``summary['reason']``)."""
        return list(self.summary["mosaic"][self.summary["status"] == "failed"])

    def __repr__(self):
        return (
            f"<SurveyResult: {len(self.summary)} mosaics, {len(self.failed)} failed, "
            f"{len(self.catalog)} detections>"
        )


def run_survey(
    paths,
    outdir,
    *,
    natives=None,
    model=None,
    client=None,
    n_workers=None,
    threads_per_worker=1,
    device="auto",
    precision="auto",
    threshold=None,
    low_threshold=None,
    min_area_beams=None,
    batch_size=8,
    augment=False,
    match_radius=1 * u.arcmin,
    crossmatch=None,
    crossmatch_radius=3 * u.arcmin,
    progress=True,
    beam=None,
    overwrite=False,
):
    """Detect diffuse emission in many mosaics, in parallel, resumably.

    Each mosaic is processed by a Dask worker: read, detected (see
    :meth:`~diffuseradio.DiffuseDetector.detect`) and written as
    ``STEM.catalog.ecsv``, ``STEM.regions.reg``, ``STEM.mask.fits`` and
    ``STEM.probability.fits`` (:func:`~diffuseradio.catalog.write_outputs`). A worker loads the
    model on its first mosaic and keeps it for the others. The outcome of
    every mosaic is recorded in ``survey.manifest.json`` as it arrives; a
    mosaic that fails (an unreadable file, a beam the model does not accept,
    its workers killed) is recorded with the reason and the others go on.

    Running again into the same output folder skips the mosaics done before
    (same input file, model and settings, outputs unchanged) and runs the
    others: an interrupted survey is finished by running it again, and its
    catalogue is identical to that of an uninterrupted run.

    At the end the catalogues of all the mosaics done are merged in input
    order, de-duplicated (:func:`~diffuseradio.survey.deduplicate`) and written to
    ``survey.catalog.ecsv`` and ``survey.regions.reg``, with a summary in
    ``survey.summary.ecsv``.

    Parameters
    ----------
    paths : str, os.PathLike or sequence of them
        Mosaic FITS files, with distinct stems (:func:`~diffuseradio.catalog.mosaic_stem`).
    outdir : str or os.PathLike
        Output folder (created if needed).
    natives : sequence of str or os.PathLike, optional
        For a model with a native-resolution channel: the native image of
        each mosaic, in the same order (e.g. the LoTSS 6" mosaic of each 20"
        one; see ``model_input``). Without them
        such a model needs native-resolution mosaics. A mosaic is redone
        when its native image changes.
    model : str or os.PathLike, optional
        Model for :meth:`~diffuseradio.DiffuseDetector.from_pretrained`
        (default model when omitted). Local files must be readable by the
        workers.
    client : `distributed.Client` or str, optional
        A client of a running Dask cluster, or its scheduler's address
        (``"tcp://host:8786"``). By default a `distributed.LocalCluster` is
        started, and closed at the end.
    n_workers : int, optional
        Workers of the local cluster: by default one per GPU when
        ``device="auto"`` finds GPUs, else one per ``threads_per_worker``
        CPU cores.
    threads_per_worker : int, optional
        PyTorch threads of each worker (the FFTs of the resolution matching
        use as many). A worker processes one mosaic at a time.
    device : str, optional
        ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"``. With ``"auto"``,
        worker ``k`` of the local cluster uses GPU ``k mod n`` of the ``n``
        GPUs, and workers of a cluster given by ``client`` use the first GPU
        they see (pin one GPU per worker there, see :doc:`/survey`).
    precision : str, optional
        ``"auto"``, ``"fp32"`` or ``"bf16"``.
    threshold : float, optional
        Probability that seeds a detection (default: the model card's).
    low_threshold : float, optional
        Probability down to which detections grow (default: the card's, or
        ``threshold`` where that is lower).
    min_area_beams : float, optional
        Smallest detection, in working beams (default: the card's).
    batch_size : int, optional
        Tiles per forward pass.
    augment : bool, optional
        Test-time augmentation (see :meth:`~diffuseradio.DiffuseDetector.predict`).
    match_radius : `~astropy.units.Quantity`, optional
        Smallest matching radius of :func:`deduplicate`.
    crossmatch : `~astropy.table.Table`, `~astropy.coordinates.SkyCoord` or path, optional
        A cluster catalogue (or its file) to cross-match the survey catalogue
        with (see :meth:`~diffuseradio.DetectionCatalog.crossmatch`); the
        matches are written to ``survey.crossmatch.ecsv``.
    crossmatch_radius : `~astropy.units.Quantity`, optional
        Largest separation of a cross-match.
    progress : bool, optional
        Show a progress bar over the mosaics.
    beam : `~astropy.units.Quantity`, optional
        Restoring beam (FWHM) of mosaics whose header has none; a mosaic
        with another beam in its header fails, with the reason
        (:func:`~diffuseradio.mosaic.survey_mosaic.read_with_beam`).
    overwrite : bool, optional
        Process every mosaic again, replacing the outputs of an earlier run,
        instead of skipping the mosaics it did.

    Returns
    -------
    SurveyResult

    Raises
    ------
    ImportError
        If dask.distributed is not installed.
    FileNotFoundError
        If a mosaic does not exist.
    ValueError
        For mosaics with the same stem, or invalid settings.
    diffuseradio.ModelNotFoundError, diffuseradio.ModelError
        If the model cannot be loaded (checked before any mosaic is run).
    diffuseradio.DiffuseRadioError
        If the scheduler at ``client`` cannot be reached.
    """
    distributed_module()  # fail before any work when it is missing
    mosaics = _input_mosaics(paths)
    native_paths = _input_natives(natives, mosaics)
    _check_settings(client, n_workers, threads_per_worker, batch_size)
    if client is None:  # the local cluster's workers run on this machine's devices
        select_device(device)
    match_radius = _angle(match_radius, "match_radius")
    crossmatch_radius = _angle(crossmatch_radius, "crossmatch_radius")
    card = load_model(model, device="cpu", precision="fp32").card  # fail early on a bad model
    settings = card.detection_settings(threshold, low_threshold, min_area_beams)
    outdir = Path(outdir).absolute()
    job = Job(
        model=_model_spec(model),
        device=device,
        precision=precision,
        threads=int(threads_per_worker),
        **settings,
        batch_size=int(batch_size),
        augment=bool(augment),
        outdir=outdir,
        spread_gpus=client is None,
        beam=None if beam is None else _angle(beam, "beam"),
    )
    settings = job.settings(card)
    outdir.mkdir(parents=True, exist_ok=True)
    cluster = {
        "client": client,
        "n_workers": n_workers,
        "threads_per_worker": threads_per_worker,
        "device": device,
    }
    crossmatching = {"crossmatch": crossmatch, "crossmatch_radius": crossmatch_radius}
    with folder_lock(outdir, "survey"):
        return _run_locked(
            mosaics,
            native_paths,
            job,
            settings,
            cluster=cluster,
            progress=progress,
            match_radius=match_radius,
            overwrite=overwrite,
            **crossmatching,
        )


def _run_locked(
    mosaics,
    native_paths,
    job,
    settings,
    *,
    cluster,
    progress,
    match_radius,
    crossmatch,
    crossmatch_radius,
    overwrite,
):
    """The survey's work, while it holds the output folder's lock."""
    outdir = job.outdir
    manifest = Manifest(outdir)
    todo = {
        s: (p, native_paths[s])
        for s, p in mosaics.items()
        if overwrite or not manifest.is_done(s, p, native_paths[s], settings)
    }
    if len(todo) < len(mosaics):
        log.info(
            "%d of %d mosaics were done by an earlier run", len(mosaics) - len(todo), len(mosaics)
        )
    if todo:
        with dask_client(**cluster) as running:
            _run_tasks(running, todo, job, settings, manifest, progress)
    done = [manifest.records[s] for s in mosaics if manifest.records[s]["status"] == "done"]
    catalog = survey_catalog(done, outdir, settings, match_radius)
    summary = survey_summary(mosaics, manifest, set(mosaics) - set(todo), catalog)
    matched = None
    if crossmatch is not None:
        clusters = (
            read_catalogue(crossmatch) if isinstance(crossmatch, (str, os.PathLike)) else crossmatch
        )
        matched = crossmatch_table(catalog, clusters, crossmatch_radius)
    files = write_survey(outdir, catalog, merge_regions(done, catalog, outdir), summary, matched)
    return SurveyResult(catalog=catalog, summary=summary, crossmatch=matched, files=files)


def _input_mosaics(paths):
    """Validate the input files: ``{stem: absolute path}`` in input order."""
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not paths:
        raise ValueError("give at least one mosaic")
    paths = [Path(p).absolute() for p in paths]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise FileNotFoundError(f"no such mosaic: {missing[0]}{more}")
    stems = [mosaic_stem(p) for p in paths]
    shared = [stem for stem, count in Counter(stems).items() if count > 1]
    if shared:
        raise ValueError(
            f"several mosaics have the stem {shared[0]!r}; their outputs would overwrite "
            "each other: give them distinct names"
        )
    if "survey" in stems:
        raise ValueError("a mosaic named 'survey' would overwrite the survey catalogue; rename it")
    return dict(zip(stems, paths))


def _input_natives(natives, mosaics):
    """``{stem: absolute path or None}``: the native image of each mosaic, if any."""
    if natives is None:
        return dict.fromkeys(mosaics)
    natives = [natives] if isinstance(natives, (str, os.PathLike)) else list(natives)
    if len(natives) != len(mosaics):
        raise ValueError(f"give one native image per mosaic: {len(natives)} for {len(mosaics)}")
    natives = [Path(p).absolute() for p in natives]
    missing = [p for p in natives if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"no such native image: {missing[0]}")
    return dict(zip(mosaics, natives))


def _check_settings(client, n_workers, threads_per_worker, batch_size):
    if client is not None and n_workers is not None:
        raise ValueError("n_workers sets the size of a local cluster; it cannot go with a client")
    for name, value in [
        ("n_workers", n_workers),
        ("threads_per_worker", threads_per_worker),
        ("batch_size", batch_size),
    ]:
        if value is not None and (int(value) != value or value < 1):
            raise ValueError(f"{name} must be a positive integer, got {value}")


def _angle(value, name):
    try:
        return u.Quantity(value).to(u.arcmin)
    except u.UnitsError:
        raise ValueError(f"{name} must be an angle (e.g. 1 * u.arcmin), got {value!r}") from None


def _model_spec(model):
    """The model as workers will load it: local files by their absolute path."""
    if model is None:
        return None
    return str(Path(model).absolute()) if Path(model).exists() else str(model)


def _run_tasks(client, todo, job, settings, manifest, progress):
    """Process the mosaics, recording each outcome in the manifest as it arrives."""
    for stem in todo:
        remove_scratch(job.outdir, stem)
    futures = {
        client.submit(process_mosaic, path, native, stem, job, pure=False): stem
        for stem, (path, native) in todo.items()
    }
    results = gather_as_completed(
        client,
        futures,
        failed=lambda outcome: outcome["status"] == "failed",
        progress=progress,
        unit="mosaic",
        desc="survey",
    )
    try:
        for stem, outcome, error in results:
            if error is not None:  # the task never returned: e.g. its workers were killed
                outcome = mosaic_outcome("failed", None, reason=error_reason(error))
            manifest.add(_record(stem, *todo[stem], settings, outcome))
            if outcome["status"] == "failed":
                log.warning("%s failed: %s", stem, outcome["reason"])
    finally:
        results.close()
        client.run(release_detectors)


def _record(stem, path, native, settings, outcome):
    return {
        "stem": stem,
        "path": str(path),
        "input": file_state(path),
        "native": None if native is None else str(native),
        "native_input": None if native is None else file_state(native),
        "settings": settings,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        **outcome,
    }
