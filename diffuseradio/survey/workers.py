"""What runs on a survey's Dask workers: one mosaic, from reading to written outputs."""

import threading
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from ..catalog.products import write_outputs
from ..detector import DiffuseDetector
from ..exceptions import DiffuseRadioWarning
from ..mosaic import SurveyMosaic
from ..mosaic.survey_mosaic import read_with_beam
from .manifest import file_state

__all__ = ["Job", "process_mosaic", "release_detectors", "mosaic_outcome", "error_reason"]


#: The detector of each worker process, keyed by what it was loaded with.
_DETECTORS = {}


_DETECTORS_LOCK = threading.Lock()


@dataclass(frozen=True)
class Job:
    """What a worker needs to process a mosaic (sent with each task)."""

    model: str | None
    device: object
    precision: object
    threads: int
    threshold: float
    low_threshold: float
    min_area_beams: float
    batch_size: int
    augment: bool
    outdir: Path
    spread_gpus: bool
    beam: object = None  # for mosaics whose header has none

    def settings(self, card):
        """What a mosaic's outputs depend on: it is redone when they change."""
        return {
            "model": card.identifier,
            "sha256": card.sha256,
            "threshold": self.threshold,
            "low_threshold": self.low_threshold,
            "min_area_beams": self.min_area_beams,
            "precision": str(self.precision),
            "augment": self.augment,
            # only when given, so that the records of earlier runs stay valid
            **({} if self.beam is None else {"beam_arcsec": float(self.beam.to_value("arcsec"))}),
        }


def mosaic_outcome(status, start, *, reason="", n_detections=0, shape=None, outputs=None):
    seconds = None if start is None else round(time.perf_counter() - start, 3)
    return {
        "status": status,
        "reason": reason,
        "n_detections": n_detections,
        "seconds": seconds,
        "shape": shape,
        "outputs": outputs or {},
    }


def error_reason(err):
    return " ".join(f"{type(err).__name__}: {err}".split())


def process_mosaic(path, native, stem, job):
    """One mosaic, on a worker: detect, write the outputs, say what happened."""
    start = time.perf_counter()
    try:
        detector = _worker_detector(job)
        mosaic = read_with_beam(path, job.beam)
        catalog = detector.detect(
            mosaic,
            native=None if native is None else SurveyMosaic.read(native),
            threshold=job.threshold,
            low_threshold=job.low_threshold,
            min_area_beams=job.min_area_beams,
            batch_size=job.batch_size,
            augment=job.augment,
        )
        with warnings.catch_warnings():
            # Most survey mosaics hold no diffuse emission: not worth a warning.
            warnings.filterwarnings(
                "ignore", message="no diffuse emission detected", category=DiffuseRadioWarning
            )
            n_detections = len(catalog)
            written = write_outputs(catalog, job.outdir, stem, plot=False)
    except Exception as err:  # one bad mosaic must not stop the survey: record why
        return mosaic_outcome("failed", start, reason=error_reason(err))
    return mosaic_outcome(
        "done",
        start,
        n_detections=n_detections,
        shape=list(mosaic.shape),
        outputs={p.name: file_state(p) for p in written},
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


def release_detectors():
    """Free the workers' models once a survey is over (the cluster may live on)."""
    import torch

    with _DETECTORS_LOCK:
        _DETECTORS.clear()
    if torch.cuda.is_initialized():
        torch.cuda.empty_cache()
