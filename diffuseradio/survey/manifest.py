"""The survey manifest: what happened to each mosaic of an output folder.

It is what makes a survey resumable: a rerun skips the mosaics whose record
shows them done with the same inputs and settings and intact outputs.
"""

import json
from pathlib import Path

from ..atomic import atomic_write
from ..catalog.products import output_paths

__all__ = ["SURVEY_FILES", "Manifest", "file_state"]


#: Files a survey writes in its output folder, besides the per-mosaic ones.
SURVEY_FILES = {
    "catalog": "survey.catalog.ecsv",
    "regions": "survey.regions.reg",
    "summary": "survey.summary.ecsv",
    "crossmatch": "survey.crossmatch.ecsv",
    "manifest": "survey.manifest.json",
}


class Manifest:
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
        try:
            content = json.loads(self.path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as err:
            raise ValueError(
                f"{self.path} is corrupt ({err}): remove it to run every mosaic again"
            ) from None
        if (
            not isinstance(content, dict)
            or {key: content.get(key) for key in self.FORMAT} != self.FORMAT
        ):
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
            record["input"] == file_state(path)
            and record.get("native_input") == (None if native is None else file_state(native))
            and record["settings"] == settings
            and set(record["outputs"]) == expected
            and all(
                file_state(self.outdir / name) == state for name, state in record["outputs"].items()
            )
        )


def file_state(path):
    """Size and modification time: what tells that a file is the one recorded."""
    try:
        stat = Path(path).stat()
    except FileNotFoundError:
        return None
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
