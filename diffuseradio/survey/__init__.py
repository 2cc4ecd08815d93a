"""Surveys: many mosaics on a Dask cluster, resumable, merged and de-duplicated.

:func:`run_survey` (:mod:`~diffuseradio.survey.run`) runs the detector on each
mosaic on Dask workers (:mod:`~diffuseradio.survey.workers`,
:mod:`~diffuseradio.survey.parallel`), records each outcome in a manifest
(:mod:`~diffuseradio.survey.manifest`) so that a rerun skips what is done,
and merges the per-mosaic catalogues into one, with the detections seen in
the overlap of neighbouring mosaics kept once
(:mod:`~diffuseradio.survey.merge`).

Dask is an optional dependency: ``pip install diffuseradio[survey]``.
"""

from .merge import deduplicate
from .run import SurveyResult, run_survey

__all__ = ["SurveyResult", "deduplicate", "run_survey"]
