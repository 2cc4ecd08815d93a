"""Surveys: many mosaics on a Dask cluster, resumable, merged and de-duplicated.

:func:`run_survey` (``run``) runs the detector on each
mosaic on Dask workers (``workers``,
``parallel``), records each outcome in a manifest
(``manifest``) so that a rerun skips what is done,
and merges the per-mosaic catalogues into one, with the detections seen in
the overlap of neighbouring mosaics kept once
(``merge``).

Dask is an optional dependency: ``pip install diffuseradio[survey]``.
"""

from .merge import deduplicate
from .run import SurveyResult, run_survey

__all__ = ["SurveyResult", "deduplicate", "run_survey"]
