"""Surveys: many mosaics on a Dask cluster, resumable, merged and de-duplicated.

:func:`run_survey` runs :meth:`DiffuseDetector.detect
<diffuseradio.DiffuseDetector.detect>` on each mosaic of a survey with
`dask.distributed <https://distributed.dask.org>`_ (a local cluster by
default, or any running one), writes each mosaic's outputs atomically
(:func:`write_outputs`) and records them in a manifest, so that a rerun
skips the mosaics already done. The per-mosaic catalogues are then merged
into one survey catalogue, with the detections seen in the overlap of
neighbouring mosaics kept once (:func:`deduplicate`), and optionally
cross-matched with a cluster catalogue.

Dask is an optional dependency: ``pip install diffuseradio[survey]``.
"""

import contextlib
import glob
import json
import logging
import os
import shutil
import tempfile
import threading
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import QTable, vstack

from .catalog import crossmatch_table, read_catalogue
from .detector import DiffuseDetector
from .exceptions import DiffuseRadioError, DiffuseRadioWarning
from .models import load_model
from .atomic import atomic_write
from .mosaic import SurveyMosaic

__all__ = [
    "OUTPUTS",
    "SurveyResult",
    "deduplicate",
    "mosaic_stem",
    "output_paths",
    "run_survey",
    "write_outputs",
]

log = logging.getLogger(__name__)

#: Suffixes of the files written for each image: ``STEM.<suffix>``.
OUTPUTS = ("catalog.ecsv", "regions.reg", "mask.fits", "probability.fits")

#: Files a survey writes in its output folder, besides the per-mosaic ones.
SURVEY_FILES = {
    "catalog": "survey.catalog.ecsv",
    "regions": "survey.regions.reg",
    "summary": "survey.summary.ecsv",
    "crossmatch": "survey.crossmatch.ecsv",
    "manifest": "survey.manifest.json",
}

#: The detector of each worker process, keyed by what it was loaded with.
_DETECTORS = {}
_DETECTORS_LOCK = threading.Lock()


# ================================================================ outputs


def mosaic_stem(path):
    """The name outputs of an image are written under: its file name less ``.fits``.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    str

    Examples
    --------
    >>> mosaic_stem("/data/P205+55-mosaic.fits.gz")
    'P205+55-mosaic'
    """
    return Path(path).name.removesuffix(".gz").removesuffix(".fits").removesuffix(".fit")


def output_paths(outdir, stem, *, plot=True):
    """The files :func:`write_outputs` writes for one image.

    Parameters
    ----------
    outdir : str or os.PathLike
    stem : str
    plot : bool, optional
        Include the overview plot ``STEM.png``.

    Returns
    -------
    list of pathlib.Path
        ``STEM.catalog.ecsv``, ``STEM.regions.reg``, ``STEM.mask.fits``,
        ``STEM.probability.fits`` (and ``STEM.png``) in ``outdir``.
    """
    suffixes = OUTPUTS + ("png",) if plot else OUTPUTS
    return [Path(outdir) / f"{stem}.{suffix}" for suffix in suffixes]


def write_outputs(catalog, outdir, stem, *, plot=True):
    """Write a detection catalogue's files for one image, all or none.

    The catalogue (ECSV), the DS9 regions, the label mask and the
    probability map (see :meth:`~diffuseradio.DetectionCatalog.write_maps`),
    and optionally an overview plot, are written into a scratch folder inside
    ``outdir`` and then renamed into place, each file atomically: a failure
    (or a killed process) never leaves a partial file under a final name.
    Existing files of the same names are replaced.

    Parameters
    ----------
    catalog : `~diffuseradio.DetectionCatalog`
    outdir : str or os.PathLike
        An existing folder.
    stem : str
        Prefix of the file names (see :func:`mosaic_stem`).
    plot : bool, optional
        Also write ``STEM.png``, the image with the detections' outlines.

    Returns
    -------
    list of pathlib.Path
        The files written, as :func:`output_paths` lists them.
    """
    targets = output_paths(outdir, stem, plot=plot)
    with tempfile.TemporaryDirectory(dir=outdir, prefix=_scratch_prefix(stem)) as scratch:
        scratch = Path(scratch)
        catalog.write(scratch / targets[0].name)
        catalog.write_regions(scratch / targets[1].name)
        catalog.write_maps(scratch / stem)
        if plot:
            _write_plot(catalog, scratch / targets[4].name, stem)
        for target in targets:
            os.replace(scratch / target.name, target)
    return targets


def _scratch_prefix(stem):
    return f".{stem}.scratch-"


def _write_plot(catalog, path, stem):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 6.5))
    ax = catalog.plot(figure.add_subplot(projection=catalog.mosaic.wcs))
    ax.set_title(f"{stem}: {len(catalog)} diffuse detections")
    figure.savefig(path, dpi=110, bbox_inches="tight")


# ================================================================ survey


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


@dataclass(frozen=True)
class _Job:
    """What a worker needs to process a mosaic (sent with each task)."""

    model: str | None
    device: object
    precision: object
    threads: int
    threshold: float
    low_threshold: float
    min_area_beams: float
    batch_size: int
    outdir: Path
    spread_gpus: bool

    def settings(self, card):
        """What a mosaic's outputs depend on: it is redone when they change."""
        return {
            "model": card.identifier,
            "sha256": card.sha256,
            "threshold": self.threshold,
            "low_threshold": self.low_threshold,
            "min_area_beams": self.min_area_beams,
            "precision": str(self.precision),
        }


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
    match_radius=1 * u.arcmin,
    crossmatch=None,
    crossmatch_radius=3 * u.arcmin,
    progress=True,
):
    """Detect diffuse emission in many mosaics, in parallel, resumably.

    Each mosaic is processed by a Dask worker: read, detected (see
    :meth:`~diffuseradio.DiffuseDetector.detect`) and written as
    ``STEM.catalog.ecsv``, ``STEM.regions.reg``, ``STEM.mask.fits`` and
    ``STEM.probability.fits`` (:func:`write_outputs`). A worker loads the
    model on its first mosaic and keeps it for the others. The outcome of
    every mosaic is recorded in ``survey.manifest.json`` as it arrives; a
    mosaic that fails (an unreadable file, a beam the model does not accept,
    its workers killed) is recorded with the reason and the others go on.

    Running again into the same output folder skips the mosaics done before
    (same input file, model and settings, outputs unchanged) and runs the
    others: an interrupted survey is finished by running it again, and its
    catalogue is identical to that of an uninterrupted run.

    At the end the catalogues of all the mosaics done are merged in input
    order, de-duplicated (:func:`deduplicate`) and written to
    ``survey.catalog.ecsv`` and ``survey.regions.reg``, with a summary in
    ``survey.summary.ecsv``.

    Parameters
    ----------
    paths : str, os.PathLike or sequence of them
        Mosaic FITS files, with distinct stems (:func:`mosaic_stem`).
    outdir : str or os.PathLike
        Output folder (created if needed).
    natives : sequence of str or os.PathLike, optional
        For a model with a native-resolution channel: the native image of
        each mosaic, in the same order (e.g. the LoTSS 6" mosaic of each 20"
        one; see :func:`~diffuseradio.channels.model_input`). Without them
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
    _distributed()  # fail before any work when it is missing
    mosaics = _input_mosaics(paths)
    native_paths = _input_natives(natives, mosaics)
    _check_settings(client, n_workers, threads_per_worker, batch_size)
    match_radius = _angle(match_radius, "match_radius")
    crossmatch_radius = _angle(crossmatch_radius, "crossmatch_radius")
    card = load_model(model, device="cpu", precision="fp32").card  # fail early on a bad model
    settings = card.detection_settings(threshold, low_threshold, min_area_beams)
    outdir = Path(outdir).absolute()
    job = _Job(
        model=_model_spec(model),
        device=device,
        precision=precision,
        threads=int(threads_per_worker),
        **settings,
        batch_size=int(batch_size),
        outdir=outdir,
        spread_gpus=client is None,
    )
    settings = job.settings(card)
    outdir.mkdir(parents=True, exist_ok=True)
    manifest = _Manifest(outdir)
    todo = {
        s: (p, native_paths[s])
        for s, p in mosaics.items()
        if not manifest.is_done(s, p, native_paths[s], settings)
    }
    if len(todo) < len(mosaics):
        log.info(
            "%d of %d mosaics were done by an earlier run", len(mosaics) - len(todo), len(mosaics)
        )
    if todo:
        with _dask_client(client, n_workers, threads_per_worker, device) as dask_client:
            _run_tasks(dask_client, todo, job, settings, manifest, progress)
    done = [manifest.records[s] for s in mosaics if manifest.records[s]["status"] == "done"]
    catalog = _survey_catalog(done, outdir, settings, match_radius)
    summary = _summary(mosaics, manifest, set(mosaics) - set(todo), catalog)
    matched = None
    if crossmatch is not None:
        clusters = (
            read_catalogue(crossmatch) if isinstance(crossmatch, (str, os.PathLike)) else crossmatch
        )
        matched = crossmatch_table(catalog, clusters, crossmatch_radius)
    files = _write_survey(outdir, catalog, _merge_regions(done, catalog, outdir), summary, matched)
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


# -------------------------------------------------------------- manifest


class _Manifest:
    """What happened to each mosaic of an output folder, in ``survey.manifest.json``.

    One record per mosaic stem (input file state, settings, status, reason,
    detections, time, image shape, and the size and modification time of
    each output file), rewritten atomically after each mosaic.
    """

    FORMAT = {"format": "diffuseradio survey manifest", "version": 1}

    def __init__(self, outdir):
        self.outdir = outdir
        self.path = outdir / SURVEY_FILES["manifest"]
        self.records = self._read() if self.path.exists() else {}

    def _read(self):
        content = json.loads(self.path.read_text(encoding="utf-8"))
        if {key: content.get(key) for key in self.FORMAT} != self.FORMAT:
            raise ValueError(f"{self.path} is not a diffuseradio survey manifest")
        return content["mosaics"]

    def add(self, record):
        """Record a mosaic's outcome and rewrite the file."""
        self.records[record["stem"]] = record
        text = json.dumps({**self.FORMAT, "mosaics": self.records}, indent=1, sort_keys=True)
        atomic_write(self.path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))

    def is_done(self, stem, path, native, settings):
        """Whether the record shows the mosaic done with these inputs and settings, intact."""
        record = self.records.get(stem)
        if record is None or record["status"] != "done":
            return False
        expected = {p.name for p in output_paths(self.outdir, stem, plot=False)}
        return (
            record["input"] == _file_state(path)
            and record.get("native_input") == (None if native is None else _file_state(native))
            and record["settings"] == settings
            and set(record["outputs"]) == expected
            and all(
                _file_state(self.outdir / name) == state
                for name, state in record["outputs"].items()
            )
        )


def _file_state(path):
    """Size and modification time: what tells that a file is the one recorded."""
    try:
        stat = Path(path).stat()
    except FileNotFoundError:
        return None
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


# ----------------------------------------------------------------- dask


def _distributed():
    try:
        import distributed
    except ImportError as err:
        raise ImportError(
            "surveys run on dask.distributed, which is not installed: "
            "pip install diffuseradio[survey]"
        ) from err
    return distributed


@contextlib.contextmanager
def _dask_client(client, n_workers, threads_per_worker, device):
    """The client given, one connected to an address, or a local cluster's."""
    distributed = _distributed()
    if isinstance(client, distributed.Client):
        yield client
    elif client is not None:
        try:
            connected = distributed.Client(client)
        except OSError as err:
            raise DiffuseRadioError(
                f"cannot reach the Dask scheduler at {client!r}: {err}"
            ) from err
        with connected:
            yield connected
    else:
        n_workers = n_workers or _default_workers(threads_per_worker, device)
        with (
            distributed.LocalCluster(
                n_workers=n_workers, threads_per_worker=1, dashboard_address=":0"
            ) as cluster,
            distributed.Client(cluster) as local,
        ):
            log.info("local Dask cluster of %d workers: %s", n_workers, local.dashboard_link)
            yield local


def _default_workers(threads_per_worker, device):
    import torch

    gpus = torch.cuda.device_count() if device == "auto" else 0
    return gpus or max(1, (os.cpu_count() or 1) // threads_per_worker)


def _run_tasks(client, todo, job, settings, manifest, progress):
    """Process the mosaics, recording each outcome in the manifest as it arrives."""
    from tqdm.auto import tqdm

    distributed = _distributed()
    for stem in todo:
        _remove_scratch(job.outdir, stem)
    futures = {
        client.submit(_process_mosaic, path, native, stem, job, pure=False): stem
        for stem, (path, native) in todo.items()
    }
    failed = 0
    try:
        with tqdm(total=len(futures), unit="mosaic", desc="survey", disable=not progress) as bar:
            for future in distributed.as_completed(futures):
                stem = futures.pop(future)
                outcome = _result_of(future)
                # Let go of the result, or losing the worker that holds it
                # would make the scheduler run this mosaic again.
                future.release()
                manifest.add(_record(stem, *todo[stem], settings, outcome))
                if outcome["status"] == "failed":
                    failed += 1
                    log.warning("%s failed: %s", stem, outcome["reason"])
                    bar.set_postfix(failed=failed)
                bar.update()
    finally:
        client.cancel(list(futures))
        client.run(_release_detectors)


def _remove_scratch(outdir, stem):
    """Remove what a worker killed while writing this mosaic's outputs left behind."""
    for scratch in outdir.glob(glob.escape(_scratch_prefix(stem)) + "*"):
        shutil.rmtree(scratch, ignore_errors=True)


def _result_of(future):
    try:
        return future.result()
    except Exception as err:  # the task never returned: e.g. its workers were killed
        return _outcome("failed", None, reason=_reason(err))


def _record(stem, path, native, settings, outcome):
    return {
        "stem": stem,
        "path": str(path),
        "input": _file_state(path),
        "native": None if native is None else str(native),
        "native_input": None if native is None else _file_state(native),
        "settings": settings,
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        **outcome,
    }


def _outcome(status, start, *, reason="", n_detections=0, shape=None, outputs=None):
    seconds = None if start is None else round(time.perf_counter() - start, 3)
    return {
        "status": status,
        "reason": reason,
        "n_detections": n_detections,
        "seconds": seconds,
        "shape": shape,
        "outputs": outputs or {},
    }


def _reason(err):
    return " ".join(f"{type(err).__name__}: {err}".split())


# -------------------------------------------------------- on the workers


def _process_mosaic(path, native, stem, job):
    """One mosaic, on a worker: detect, write the outputs, say what happened."""
    start = time.perf_counter()
    try:
        detector = _worker_detector(job)
        mosaic = SurveyMosaic.read(path)
        catalog = detector.detect(
            mosaic,
            native=None if native is None else SurveyMosaic.read(native),
            threshold=job.threshold,
            low_threshold=job.low_threshold,
            min_area_beams=job.min_area_beams,
            batch_size=job.batch_size,
        )
        with warnings.catch_warnings():
            # Most survey mosaics hold no diffuse emission: not worth a warning.
            warnings.filterwarnings(
                "ignore", message="no diffuse emission detected", category=DiffuseRadioWarning
            )
            n_detections = len(catalog)
            written = write_outputs(catalog, job.outdir, stem, plot=False)
    except Exception as err:  # one bad mosaic must not stop the survey: record why
        return _outcome("failed", start, reason=_reason(err))
    return _outcome(
        "done",
        start,
        n_detections=n_detections,
        shape=list(mosaic.shape),
        outputs={p.name: _file_state(p) for p in written},
    )


def _worker_detector(job):
    """This worker's detector, loaded on its first mosaic and kept."""
    device = _worker_device(job)
    key = (job.model, device, job.precision, job.threads)
    with _DETECTORS_LOCK:
        if key not in _DETECTORS:
            import torch

            torch.set_num_threads(job.threads)
            _DETECTORS[key] = DiffuseDetector.from_pretrained(
                job.model, device=device, precision=job.precision
            )
        return _DETECTORS[key]


def _worker_device(job):
    """The device of this worker: on a local cluster, worker ``k`` takes GPU ``k mod n``.

    Workers of other clusters use the first GPU they see, as dask-cuda and
    SLURM jobs of one GPU arrange it.
    """
    import torch

    count = torch.cuda.device_count()
    if job.device != "auto" or not job.spread_gpus or count < 2:
        return job.device
    from distributed import get_worker

    return f"cuda:{get_worker().name % count}"


def _release_detectors():
    """Free the workers' models once a survey is over (the cluster may live on)."""
    import torch

    with _DETECTORS_LOCK:
        _DETECTORS.clear()
    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()


# ================================================================= merge


def _survey_catalog(done, outdir, settings, match_radius):
    """The catalogues of the mosaics done, merged in input order and de-duplicated."""
    catalog = deduplicate(_merge_catalogs(done, outdir), match_radius=match_radius)
    catalog.meta.update(
        mosaics=[record["stem"] for record in done],
        match_radius_arcmin=float(match_radius.to_value(u.arcmin)),
        **settings,
    )
    return catalog


def _merge_catalogs(records, outdir):
    """The catalogues of the mosaics done, stacked in input order."""
    tables = []
    for record in records:
        table = QTable.read(outdir / f"{record['stem']}.catalog.ecsv")
        table.meta.clear()
        table.add_column(np.full(len(table), record["stem"]), name="mosaic", index=1)
        table.add_column(_mosaic_offset(table, record["shape"]), name="mosaic_offset", index=2)
        tables.append(table)
    return vstack(tables) if tables else QTable()


def _mosaic_offset(table, shape):
    """Distance of each centroid from its mosaic's centre, in half the smaller side."""
    ny, nx = shape
    x = table["x_centroid"].to_value(u.pix) - (nx - 1) / 2
    y = table["y_centroid"].to_value(u.pix) - (ny - 1) / 2
    return np.hypot(x, y) / (min(nx, ny) / 2)


def deduplicate(table, *, match_radius=1 * u.arcmin):
    """Keep one row per source detected in several overlapping mosaics.

    Two rows from different mosaics are the same source when their sky
    centroids are closer than ``max(match_radius, L / 2)``, ``L`` being the
    smaller of their two ``largest_angular_size``. Of a source seen in
    several mosaics, the detection nearest its own mosaic's centre (the
    smallest ``mosaic_offset``) is kept: far from the edges the network sees
    the source with all its surroundings. In practice the rows are visited in
    increasing ``mosaic_offset``, and a row is kept unless it matches a row
    already kept; so no two rows kept from different mosaics match, and every
    row left out matches a kept row nearer its mosaic's centre. Rows of the
    same mosaic are never merged.

    Parameters
    ----------
    table : `~astropy.table.QTable`
        Detections with ``sky_centroid``, ``largest_angular_size``,
        ``mosaic`` (name of the source mosaic) and ``mosaic_offset``
        (distance from the mosaic's centre in units of its half size).
    match_radius : `~astropy.units.Quantity`, optional
        Smallest matching radius.

    Returns
    -------
    `~astropy.table.QTable`
        The rows kept, in their original order.

    Examples
    --------
    The same halo found in the overlap of two mosaics, 20" apart:

    >>> import astropy.units as u
    >>> from astropy.coordinates import SkyCoord
    >>> from astropy.table import QTable
    >>> table = QTable({
    ...     "sky_centroid": SkyCoord([180.0, 180.005, 181.0], [40.0, 40.0, 40.0], unit="deg"),
    ...     "largest_angular_size": [3.0, 2.5, 1.0] * u.arcmin,
    ...     "mosaic": ["P180+40", "P182+40", "P182+40"],
    ...     "mosaic_offset": [0.9, 0.7, 0.2],
    ... })
    >>> deduplicate(table)["mosaic"].tolist()
    ['P182+40', 'P182+40']
    """
    if len(table) < 2:
        return table.copy()
    coords = table["sky_centroid"]
    las = table["largest_angular_size"]
    search = max(match_radius, 0.5 * las.max())
    first, second, separation, _ = coords.search_around_sky(coords, search)
    radius = np.maximum(match_radius, 0.5 * np.minimum(las[first], las[second]))
    mosaic = np.asarray(table["mosaic"])
    same = (mosaic[first] != mosaic[second]) & (separation <= radius)
    matches = [[] for _ in range(len(table))]
    for i, j in zip(first[same], second[same]):
        matches[i].append(j)
    keep = np.zeros(len(table), dtype=bool)
    for row in np.argsort(np.asarray(table["mosaic_offset"]), kind="stable"):
        keep[row] = not keep[matches[row]].any()
    return table[keep]


def _merge_regions(records, catalog, outdir):
    """The DS9 regions of the rows kept, labelled ``MOSAIC:ID``."""
    from regions import Regions

    kept = set(zip(catalog["mosaic"], catalog["id"])) if len(catalog) else set()
    merged = []
    for record in records:
        stem = record["stem"]
        for region in Regions.read(outdir / f"{stem}.regions.reg", format="ds9"):
            ident = int(region.meta["text"])
            if (stem, ident) in kept:
                region.meta["text"] = f"{stem}:{ident}"
                merged.append(region)
    return Regions(merged)


def _summary(mosaics, manifest, resumed, catalog):
    """One row per input mosaic: what happened to it."""
    records = [manifest.records[stem] for stem in mosaics]
    kept = Counter(catalog["mosaic"]) if len(catalog) else Counter()
    seconds = [np.nan if r["seconds"] is None else r["seconds"] for r in records]
    return QTable(
        {
            "mosaic": list(mosaics),
            "status": [r["status"] for r in records],
            "detections": np.array([r["n_detections"] for r in records], dtype=int),
            "kept": np.array([kept[stem] for stem in mosaics], dtype=int),
            "time": np.array(seconds, dtype=float) * u.s,
            "resumed": np.array([stem in resumed for stem in mosaics], dtype=bool),
            "reason": [r["reason"] for r in records],
        }
    )


def _write_survey(outdir, catalog, regions, summary, matched):
    """Write the survey files atomically; return them by name."""
    tables = {"catalog": catalog, "summary": summary, "crossmatch": matched}
    files = {"manifest": outdir / SURVEY_FILES["manifest"]}
    for name, table in tables.items():
        if table is not None:
            files[name] = outdir / SURVEY_FILES[name]
            atomic_write(
                files[name], lambda tmp, t=table: t.write(tmp, format="ascii.ecsv", overwrite=True)
            )
    files["regions"] = outdir / SURVEY_FILES["regions"]
    atomic_write(files["regions"], lambda tmp: regions.write(tmp, format="ds9", overwrite=True))
    return files


# ------------------------------------------------------------ crossmatch
