"""Catalogues of diffuse-emission detections, measured on the input pixels.

:class:`DetectionCatalog` turns a segmentation (one integer label per
detection) and a probability map on a :class:`~diffuseradio.SurveyMosaic`'s
grid into a table of measurements with units, DS9 regions, FITS maps, plots
and cross-matches with other catalogues.
"""

import copy
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import QTable
from radio_beam import Beam
from scipy import ndimage

from ..atomic import atomic_write
from ..mosaic.noise import robust_rms
from ..mosaic.writing import smallest_label_type, write_image_strips
from .columns import COLUMN_DESCRIPTIONS, COLUMNS, FLAGS, empty_table
from .crossmatch import crossmatch_table

__all__ = ["DetectionCatalog"]

#: Compact emission: pixels brighter than this many local sigma above the
#: emission smoothed on ``_COMPACT_SCALE_BEAMS`` beams.
_COMPACT_SIGMA = 5.0
_COMPACT_SCALE_BEAMS = 3.0


class DetectionCatalog:
    """Diffuse-emission detections in one image.

    Parameters
    ----------
    mosaic : `~diffuseradio.SurveyMosaic`
        The image the detections were found in; measurements use its pixels.
    segmentation : numpy.ndarray
        Integer labels on the mosaic's grid (any integer type; kept as given,
        e.g. uint8 from :func:`~diffuseradio.postprocess.segment`): 0 is
        background, ``k`` is detection ``k``.
    probability : numpy.ndarray or `~diffuseradio.postprocess.InputGridMap`
        Probability of diffuse emission on the mosaic's grid (NaN = blanked);
        ``(ny, nx)`` or ``(n_classes, ny, nx)`` with one map per diffuse class.
        An :class:`~diffuseradio.postprocess.InputGridMap` (what
        :meth:`~diffuseradio.DiffuseDetector.detect` gives) is kept as it is:
        the map is made on the input's pixels only where it is read.
    rms : `~astropy.units.Quantity`, optional
        Noise (scalar or map, Jy/beam). By default each detection's noise is
        measured around it: the sigma-clipped MAD of the unblanked pixels
        outside any detection within 15 beams of it, a constant fill value
        left out (``robust_rms``; the mosaic's
        global rms when fewer than 100 such pixels exist or they hold no
        noise).
    classes : list of str, optional
        Names of the diffuse classes of a multi-class probability cube.
    redshift : float, optional
        Redshift of the emission, to give physical sizes (kpc).
    cosmology : `~astropy.cosmology.Cosmology`, optional
        Default Planck18.
    meta : dict, optional
        Recorded in the table's ``meta`` (model name, threshold, ...).
    """

    def __init__(
        self,
        mosaic,
        segmentation,
        probability,
        *,
        rms=None,
        classes=None,
        redshift=None,
        cosmology=None,
        meta=None,
    ):
        self.mosaic = mosaic
        self.segmentation = _as_labels(segmentation)
        self.probability = _as_map(probability)
        if self.segmentation.shape != mosaic.shape or self.probability.shape[-2:] != mosaic.shape:
            raise ValueError(
                f"segmentation {self.segmentation.shape} and probability "
                f"{self.probability.shape} must be on the mosaic's grid {mosaic.shape}"
            )
        self.classes = list(classes) if classes is not None else None
        self.rms = None if rms is None else u.Quantity(rms, u.Jy / u.beam)
        self.redshift = redshift
        self.cosmology = cosmology
        self.meta = dict(meta or {})
        self._made = _now()
        self._table = None

    # ------------------------------------------------------------ table

    def __len__(self):
        return len(self.table)

    def __repr__(self):
        return f"<DetectionCatalog of {len(self)} detections>"

    def __getitem__(self, item):
        """A column (by name), a row (by index) or a sub-table, as from :attr:`table`."""
        return self.table[item]

    def __iter__(self):
        """The rows of :attr:`table`."""
        return iter(self.table)

    @property
    def colnames(self):
        """The names of the catalogue's columns."""
        return self.table.colnames

    @property
    def columns(self):
        """The catalogue's columns (`~astropy.table.TableColumns`)."""
        return self.table.columns

    @property
    def table(self):
        """The catalogue as a `~astropy.table.QTable` (one row per detection).

        Its ``meta`` holds the measurement settings and provenance, updated
        with ``meta`` (where a caller may add e.g. ``command``).
        """
        if self._table is None:
            self._table = self._measure()
        self._table.meta.update(self.meta)
        return self._table

    def to_table(self):
        """A copy of :attr:`table`."""
        return self.table.copy()

    def _measure(self):
        labels = np.arange(1, self.segmentation.max() + 1)
        objects = ndimage.find_objects(self.segmentation)
        rows = [
            self._measure_one(label, objects[label - 1])
            for label in labels
            if objects[label - 1] is not None
        ]
        columns = self._columns()
        table = QTable(rows=rows, names=columns) if rows else empty_table(columns)
        if not rows:
            warnings.warn(
                "no diffuse emission detected; the catalogue is empty",
                _catalog_warning(),
                stacklevel=3,
            )
        for name in table.colnames:
            table[name].info.description = COLUMN_DESCRIPTIONS.get(name)
        table.meta.update(self._table_meta())
        self._add_physical_sizes(table)
        return table

    def _measure_one(self, label, box):
        mosaic = self.mosaic
        box = _grow(box, int(np.ceil(2 * _COMPACT_SCALE_BEAMS * self._beam_pixels())), mosaic.shape)
        inside = self.segmentation[box] == label
        data = np.asarray(mosaic.data[box], dtype=np.float64)
        values = np.where(inside & np.isfinite(data), data, 0.0)
        ys, xs = np.nonzero(inside)
        y0, x0 = box[0].start, box[1].start
        npix = ys.size
        beam_pixels = mosaic.beam_area_pixels
        pixel_area = mosaic.pixel_scale**2
        rms = self._local_rms(box, inside)
        flux = values.sum() / beam_pixels * u.Jy
        n_beams = npix / beam_pixels
        flux_err = rms * np.sqrt(max(n_beams, 1.0)) * u.beam
        x_c, y_c = xs.mean() + x0, ys.mean() + y0
        sky = mosaic.wcs.pixel_to_world(x_c, y_c)
        compact = self._compact_fraction(data, inside, rms.to_value(u.Jy / u.beam), values.sum())
        flux_centroid, flux_centroid_err = self._flux_centroid(values[inside], xs, ys, rms, box)
        probability = self._probabilities(box, inside)
        row = {
            "id": label,
            "sky_centroid": sky,
            "x_centroid": x_c * u.pix,
            "y_centroid": y_c * u.pix,
            "flux_centroid": flux_centroid,
            "flux_centroid_err": flux_centroid_err,
            "area": (npix * pixel_area).to(u.arcmin**2),
            "area_beams": n_beams,
            "largest_angular_size": (_largest_extent(ys, xs) * mosaic.pixel_scale).to(u.arcmin),
            **self._shape(xs + x0, ys + y0, x_c, y_c),
            "flux_density": flux.to(u.mJy),
            "flux_density_err": flux_err.to(u.mJy),
            "mean_surface_brightness": (flux / (npix * pixel_area)).to(u.uJy / u.arcsec**2),
            "peak_surface_brightness": (_peak(data[inside]) * u.Jy / u.beam).to(u.mJy / u.beam),
            "mean_snr_per_beam": float(values.sum() / npix / rms.to_value(u.Jy / u.beam)),
            "peak_probability": float(probability.max()),
            "mean_probability": float(probability.mean()),
            "diffuse_class": self._diffuse_class(box, inside) if self._multiclass else None,
            "compact_flux_fraction": compact,
            "local_rms": rms.to(u.uJy / u.beam),
        }
        row["flags"] = self._flags(box, inside, row)
        return [row[name] for name in self._columns()]

    def _flux_centroid(self, flux, xs, ys, rms, box):
        """Flux-weighted centroid and its 1-sigma error per axis from the noise.

        The centroid moves by ``(x_i - x_c) / F`` per unit of noise in pixel
        ``i`` (``F``: the summed pixel values); noise correlated over the
        beam (``N_b`` pixels) gives a variance ``rms^2 N_b sum (x_i - x_c)^2 /
        F^2`` along each axis, averaged over the two axes here.
        """
        total = flux.sum()
        if not total > 0:  # no position to weight: NaN, in the image's frame
            return self.mosaic.wcs.pixel_to_world(np.nan, np.nan), np.nan * u.arcsec
        x_w, y_w = (flux * xs).sum() / total, (flux * ys).sum() / total
        spread = (((xs - x_w) ** 2).sum() + ((ys - y_w) ** 2).sum()) / 2
        sigma = rms.to_value(u.Jy / u.beam) * np.sqrt(self.mosaic.beam_area_pixels * spread)
        position = self.mosaic.wcs.pixel_to_world(x_w + box[1].start, y_w + box[0].start)
        return position, (sigma / total * self.mosaic.pixel_scale).to(u.arcsec)

    def _shape(self, xs, ys, x_c, y_c):
        """Major and minor axes (FWHM of the pixels' second moments) and position angle."""
        if xs.size < 2:
            zero = 0.0 * u.arcmin
            return {"major_axis": zero, "minor_axis": zero, "position_angle": 0.0 * u.deg}
        # pixels are squares of unit side: add their own variance, 1/12, on each axis
        covariance = np.cov(np.stack([xs, ys])) + np.eye(2) / 12
        values, vectors = np.linalg.eigh(covariance)
        fwhm = (
            2 * np.sqrt(2 * np.log(2)) * np.sqrt(np.clip(values, 0, None)) * self.mosaic.pixel_scale
        )
        dx, dy = vectors[:, 1]  # the major axis, in pixels
        centre = self.mosaic.wcs.pixel_to_world(x_c, y_c)
        along = self.mosaic.wcs.pixel_to_world(x_c + dx, y_c + dy)
        angle = u.Quantity(centre.position_angle(along).to_value(u.deg) % 180.0, u.deg)
        return {
            "major_axis": fwhm[1].to(u.arcmin),
            "minor_axis": fwhm[0].to(u.arcmin),
            "position_angle": angle,
        }

    @property
    def _multiclass(self):
        """Whether the probability holds several diffuse classes, with their names."""
        return self.probability.ndim == 3 and bool(self.classes)

    def _columns(self):
        """The catalogue's columns: ``diffuse_class`` only for a multi-class model."""
        return [name for name in COLUMNS if name != "diffuse_class" or self._multiclass]

    def _probabilities(self, box, inside):
        cut = np.asarray(self.probability[(Ellipsis, *box)])
        total = cut if cut.ndim == 2 else np.nansum(cut, axis=0)
        return np.nan_to_num(total[inside])

    def _diffuse_class(self, box, inside):
        cut = np.asarray(self.probability[(Ellipsis, *box)])
        sums = [np.nansum(plane[inside]) for plane in cut]
        return self.classes[int(np.argmax(sums))]

    def _local_rms(self, box, inside):
        if self.rms is None:
            return self._rms_around(box)
        if self.rms.isscalar:
            return self.rms
        return np.nanmedian(self.rms[box][inside])

    def _rms_around(self, box):
        margin = int(np.ceil(15 * self._beam_pixels()))
        around = _grow(box, margin, self.mosaic.shape)
        data = np.asarray(self.mosaic.data[around], dtype=np.float64)
        values = data[(self.segmentation[around] == 0) & np.isfinite(data)]
        rms = robust_rms(values) if values.size >= 100 else np.nan
        if not rms > 0:  # too few pixels, or all one (quantised) value
            return self.mosaic.rms
        return rms * u.Jy / u.beam

    def _compact_fraction(self, data, inside, rms, total):
        """Fraction of the flux density in compact sources inside the region.

        Compact emission is what stands more than 5 local sigma above the
        image smoothed with a Gaussian of 3 beams FWHM. Each compact source
        is grown by one beam to include its wings, and its flux density is
        measured above the diffuse emission around it (the image smoothed
        with the compact sources left out).
        """
        if total <= 0:
            return 0.0
        valid = np.isfinite(data)
        filled = np.where(valid, data, 0.0).astype(np.float32)
        beam = self._beam_pixels()
        sigma = _COMPACT_SCALE_BEAMS * beam / 2.3548
        residual = filled - ndimage.gaussian_filter(filled, sigma, mode="nearest")
        peaks = residual > _COMPACT_SIGMA * rms
        del residual
        if not (peaks & inside).any():
            return 0.0
        grow = max(1, int(round(beam)))
        compact = ndimage.binary_dilation(peaks, iterations=grow) & valid
        del peaks
        keep = (~compact & valid).astype(np.float32)
        with np.errstate(invalid="ignore", divide="ignore"):
            diffuse = ndimage.gaussian_filter(filled * keep, sigma, mode="nearest")
            diffuse /= ndimage.gaussian_filter(keep, sigma, mode="nearest")
        excess = np.nan_to_num(filled - diffuse)[compact & inside]
        return float(np.clip(excess.sum(dtype=np.float64) / total, 0.0, 1.0))

    def _flags(self, box, inside, row):
        flags = 0
        ny, nx = self.mosaic.shape
        rows, columns = np.nonzero(inside)
        rows, columns = rows + box[0].start, columns + box[1].start
        if rows.min() == 0 or columns.min() == 0 or rows.max() == ny - 1 or columns.max() == nx - 1:
            flags |= 1
        blank = ~np.isfinite(np.asarray(self.mosaic.data[box]))
        if (ndimage.binary_dilation(inside) & blank).any():
            flags |= 2
        if row["compact_flux_fraction"] > 0.5:
            flags |= 4
        if row["mean_snr_per_beam"] < 1.0:
            flags |= 8
        if self._area_in_working_beams(row) < 4:
            flags |= 16
        return flags

    def _area_in_working_beams(self, row):
        """A detection's area in beams of the working resolution (the input's
        beam when the catalogue does not record it, or when that is coarser)."""
        beam = self._probability_beam()
        return float((row["area"] / beam.sr).decompose())

    def _beam_pixels(self):
        return float(self.mosaic.beam.major / self.mosaic.pixel_scale)

    def _add_physical_sizes(self, table):
        """``largest_linear_size`` (proper kpc) at the catalogue's redshift, if any."""
        if self.redshift is None:
            table.remove_columns([n for n in ("largest_linear_size",) if n in table.colnames])
            table.meta.pop("redshift", None)
            return
        scale = self._kpc_per_arcmin()
        table["largest_linear_size"] = (table["largest_angular_size"] * scale).to(u.kpc)
        table["largest_linear_size"].info.description = COLUMN_DESCRIPTIONS["largest_linear_size"]
        table.meta["redshift"] = self.redshift
        table.meta["cosmology"] = (self.cosmology or _planck18()).name

    def with_redshift(self, redshift, cosmology=None):
        """The same detections at a redshift: physical sizes, without the network.

        Parameters
        ----------
        redshift : float or None
            None removes the physical sizes.
        cosmology : `~astropy.cosmology.Cosmology`, optional
            Default Planck18.

        Returns
        -------
        DetectionCatalog
            A new catalogue sharing this one's images and measurements.
        """
        other = copy.copy(self)
        other.redshift, other.cosmology = redshift, cosmology
        other.meta = dict(self.meta)
        if self._table is not None:
            other._table = self._table.copy()
            other._add_physical_sizes(other._table)
        return other

    def _kpc_per_arcmin(self):
        cosmology = self.cosmology or _planck18()
        return cosmology.kpc_proper_per_arcmin(self.redshift)

    def _table_meta(self):
        mosaic = self.mosaic
        meta = {
            "input": mosaic.meta.get("path", ""),
            "beam_major_arcsec": _rounded(mosaic.beam.major.to_value(u.arcsec)),
            "beam_minor_arcsec": _rounded(mosaic.beam.minor.to_value(u.arcsec)),
            "beam_pa_deg": _rounded(mosaic.beam.pa.to_value(u.deg)),
            "pixel_scale_arcsec": _rounded(mosaic.pixel_scale.to_value(u.arcsec)),
            "rms_jy_per_beam": _rounded(mosaic.rms.to_value(u.Jy / u.beam)),
            "flags": {bit: meaning for bit, meaning in FLAGS.items()},
            "software": f"diffuseradio {_version()}",
            "date": self._made,
        }
        meta.update(self.meta)
        return meta

    # ---------------------------------------------------------- writing

    def write(self, path, *, format=None, overwrite=False, **kwargs):
        """Write the table with astropy's unified I/O, under a temporary name then renamed.

        Any format `~astropy.table.QTable.write` knows: by default the one its
        suffix names (``.ecsv``, ``.fits``, ``.vot``/``.xml``, ``.csv``,
        ``.hdf5``, ``.parquet``, ...). ECSV keeps the units, the metadata
        and the ``sky_centroid`` column; other formats get ``ra`` and
        ``dec`` (ICRS, degrees) in its place and the scalar metadata only.

        Parameters
        ----------
        path : str or os.PathLike
        format : str, optional
            An astropy table format, e.g. ``"ascii.ecsv"``, ``"fits"``,
            ``"votable"``, ``"ascii.csv"``.
        overwrite : bool, optional
        **kwargs
            Passed to `~astropy.table.QTable.write` (``serialize_meta``,
            ``path`` of an HDF5 table, ...).

        Raises
        ------
        ValueError
            If the format is neither given nor told by the suffix.
        FileExistsError
            If ``path`` exists and ``overwrite`` is False.
        """
        path = Path(path)
        fmt = format or _table_format(path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; use overwrite=True to replace it")
        table = self._serialisable_table(fmt)

        def write(temporary):
            with warnings.catch_warnings():
                # Long metadata keys become FITS HIERARCH cards, as intended.
                warnings.filterwarnings(
                    "ignore", message=".*HIERARCH card", category=fits.verify.VerifyWarning
                )
                table.write(temporary, format=fmt, overwrite=True, **kwargs)

        atomic_write(path, write)

    def _serialisable_table(self, fmt):
        table = self.table.copy()
        if fmt not in ("ascii.ecsv", "ecsv"):
            # Other formats keep plain columns: split the SkyCoord into RA/Dec
            # and keep the scalar metadata only.
            for name in ("sky_centroid", "flux_centroid"):
                if name not in table.colnames:
                    continue
                coord = table[name]
                index = table.colnames.index(name)
                ra, dec = ("ra", "dec") if name == "sky_centroid" else (f"{name}_ra", f"{name}_dec")
                table.remove_column(name)
                table.add_column(coord.icrs.dec.to(u.deg), index=index, name=dec)
                table.add_column(coord.icrs.ra.to(u.deg), index=index, name=ra)
                table[ra].info.description = f"ICRS right ascension of {name}"
                table[dec].info.description = f"ICRS declination of {name}"
            table.meta = {
                k: v for k, v in table.meta.items() if isinstance(v, (str, int, float, bool))
            }
        return table

    def write_maps(self, prefix, *, overwrite=False):
        """Write ``PREFIX.mask.fits`` (labels) and ``PREFIX.probability.fits`` (float32).

        The labels are written in the smallest FITS integer type that holds
        them: 8-bit up to 255 detections, 16-bit up to 32767, else 32-bit (a
        LoTSS-DR2 mosaic's mask is 90 MB instead of 360 MB).

        Both have the input's 2-D shape and celestial WCS.

        Parameters
        ----------
        prefix : str or os.PathLike
        overwrite : bool, optional

        Returns
        -------
        tuple of pathlib.Path
            The mask and probability files.
        """
        prefix = Path(prefix)
        mask_path = prefix.with_name(prefix.name + ".mask.fits")
        prob_path = prefix.with_name(prefix.name + ".probability.fits")
        for path in (mask_path, prob_path):
            if path.exists() and not overwrite:
                raise FileExistsError(f"{path} exists; use overwrite=True to replace it")
        header = self.mosaic.wcs.to_header()
        self._add_provenance(header)
        mask_header = header.copy()
        mask_header["BUNIT"] = ("", "detection label (0 = none)")
        prob_header = header.copy()
        prob_header["BUNIT"] = ("", "probability of diffuse emission")
        beam = self._probability_beam()
        prob_header["BMAJ"] = (_rounded(beam.major.to_value(u.deg)), "[deg] resolution of the map")
        prob_header["BMIN"] = (_rounded(beam.minor.to_value(u.deg)), "[deg]")
        prob_header["BPA"] = (_rounded(beam.pa.to_value(u.deg)), "[deg]")
        shape = self.segmentation.shape
        label_type = smallest_label_type(int(self.segmentation.max(initial=0)))
        write_image_strips(mask_path, mask_header, shape, label_type, _strips(self.segmentation))
        strips = _strips(self.probability, self.probability.ndim == 3)  # made strip by strip
        write_image_strips(prob_path, prob_header, shape, np.float32, strips)
        return mask_path, prob_path

    def _probability_beam(self):
        """The resolution of the probability map: the working beam, or the
        input's where that is coarser (the network ran at the input's beam)."""
        working = self.meta.get("working_beam_arcsec")
        if working is None or self.mosaic.beam.major >= working * u.arcsec:
            return self.mosaic.beam
        return Beam(working * u.arcsec)

    def _add_provenance(self, header):
        """How the maps were made, as FITS cards: software, date, model, operating point."""
        meta = self._table_meta()  # as the table's, without measuring the detections
        cards = [
            ("ORIGIN", meta["software"], "software that made this map"),
            ("DATE", meta["date"], "UTC when the detections were made"),
            ("INPUT", Path(meta["input"]).name, "image the detections were found in"),
            ("MODEL", meta.get("model"), "model (registry name@version)"),
            ("THRESH", meta.get("threshold"), "probability that seeds a detection"),
            ("LOWTHR", meta.get("low_threshold"), "probability detections grow down to"),
            ("MINAREA", meta.get("min_area_beams"), "smallest detection, working beams"),
        ]
        for key, value, comment in cards:
            if value in (None, ""):
                continue
            # a comment that would not fit on the card is left out
            fits_card = len(f"{key:8s}= {value!r:>20} / {comment}") <= 80
            header[key] = (value, comment) if fits_card else value
        if meta.get("command"):
            header.add_history(meta["command"])

    def to_regions(self):
        """Outlines of the detections as sky polygons.

        Each detection's outer boundary is traced on the pixel edges of its
        segment (scikit-image ``find_contours`` at level 0.5), simplified to
        within a tenth of the beam's minor axis (``approximate_polygon``;
        a pixel-staircase outline would need thousands of vertices),
        converted to sky coordinates and returned as a
        `~regions.PolygonSkyRegion`, with ``meta['label']`` and
        ``meta['text']`` (shown by DS9) set to the detection's id.

        Returns
        -------
        `~regions.Regions`
        """
        from regions import PolygonSkyRegion, RegionMeta, Regions
        from skimage.measure import approximate_polygon, find_contours

        tolerance = max(0.5, 0.1 * float(self.mosaic.beam.minor / self.mosaic.pixel_scale))
        regions = []
        objects = ndimage.find_objects(self.segmentation)
        for label in self.table["id"]:
            box = _grow(objects[label - 1], 1, self.segmentation.shape)
            mask = np.pad(self.segmentation[box] == label, 1)
            contours = find_contours(mask.astype(np.float32), 0.5)
            outline = max(contours, key=len)  # the exterior
            outline = approximate_polygon(outline, tolerance)
            y = outline[:, 0] - 1 + box[0].start
            x = outline[:, 1] - 1 + box[1].start
            vertices = self.mosaic.wcs.pixel_to_world(x[:-1], y[:-1])
            regions.append(
                PolygonSkyRegion(
                    vertices=vertices, meta=RegionMeta({"label": str(label), "text": str(label)})
                )
            )
        return Regions(regions)

    def write_regions(self, path, *, overwrite=False):
        """Write the outlines as a DS9 region file (see :meth:`to_regions`).

        Parameters
        ----------
        path : str or os.PathLike
        overwrite : bool, optional
        """
        path = Path(path)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path} exists; use overwrite=True to replace it")
        # An empty set serialises to nothing: keep the header, a valid empty file.
        text = self.to_regions().serialize(format="ds9") or _EMPTY_DS9
        atomic_write(path, lambda tmp: Path(tmp).write_text(text))

    # ------------------------------------------------------ cross-match

    def crossmatch(self, other, radius, *, ra=None, dec=None, join="nearest"):
        """Match detections with another catalogue.

        Parameters
        ----------
        other : `~astropy.table.Table` or `~astropy.coordinates.SkyCoord`
            E.g. the PSZ2 or MCXC cluster catalogues. The RA/Dec columns of a
            table are found by name (``RA``/``DEC``, ``RAJ2000``/``DEJ2000``,
            ``RAdeg``/``DEdeg``...) unless given; plain numbers are degrees.
        radius : `~astropy.units.Quantity`
            Largest separation of a match.
        ra, dec : str, optional
            Column names of the positions in ``other``.
        join : {"nearest", "left", "all"}, optional
            ``"nearest"``: each detection with the nearest entry within
            ``radius``, detections without one left out (an inner join);
            ``"left"``: every detection, the entry's columns masked where
            none is within ``radius``; ``"all"``: one row per pair within
            ``radius`` (`~astropy.coordinates.search_around_sky`), by
            detection and then separation.

        Returns
        -------
        `~astropy.table.QTable`
            Detections with the matched entry's columns (suffix ``_2`` on
            name clashes) and a ``separation`` column.
        """
        return crossmatch_table(self.table, other, radius, ra=ra, dec=dec, join=join)

    # ------------------------------------------------------------ plots

    def plot(self, ax=None, *, stretch_sigma=(-2, 50), contour_levels=()):
        """Plot the image with the detections' outlines and labels (WCSAxes).

        The arguments and the result are those of
        :func:`diffuseradio.plotting.plot_detections` (``catalog`` is this one).
        """
        from ..plotting import plot_detections

        return plot_detections(self, ax, stretch_sigma=stretch_sigma, contour_levels=contour_levels)


# ====================================================================

_EMPTY_DS9 = "# Region file format: DS9 astropy/regions\nicrs\n"


def _as_map(probability):
    """A probability map as float32, or an input-grid map made where it is read, as given."""
    if hasattr(probability, "strips"):
        return probability
    return np.asarray(probability, dtype=np.float32)


def _as_labels(segmentation):
    """Integer labels as given (no copy), a non-integer array as int32."""
    labels = np.asarray(segmentation)
    return labels if labels.dtype.kind in "iu" else labels.astype(np.int32)


def _strips(image, summed=False, rows=512):
    """Strips of rows of a 2-D image, or of the sum of the planes of a 3-D one."""
    for start in range(0, image.shape[-2], rows):
        strip = image[..., start : start + rows, :]
        yield np.nansum(strip, axis=0) if summed else strip


def _peak(values):
    """The largest finite value (NaN if none)."""
    finite = values[np.isfinite(values)]
    return float(finite.max()) if finite.size else np.nan


def _planck18():
    from astropy.cosmology import Planck18

    return Planck18


def _rounded(value):
    """A float to 10 significant digits (6.0, not 5.999999999999997)."""
    return float(f"{float(value):.10g}")


def _version():
    from .. import __version__

    return __version__


def _now():
    """The time now, UTC, ISO 8601 to the second."""
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")


def _table_format(path):
    """The astropy table format a file name's suffix names (one, or an error)."""
    from astropy.io.registry import identify_format

    if path.suffix.lower() in (".vot", ".xml"):  # astropy identifies VOTables by content
        return "votable"
    formats = identify_format("write", QTable, str(path), None, [], {})
    if len(formats) != 1:
        raise ValueError(
            f"cannot tell the table format of {path.name}: give format= (e.g. "
            '"ascii.ecsv", "fits", "votable", "ascii.csv") or a suffix such as .ecsv'
        )
    return formats[0]


def _catalog_warning():
    from ..exceptions import DiffuseRadioWarning

    return DiffuseRadioWarning


def _grow(box, margin, shape):
    return tuple(
        slice(max(s.start - margin, 0), min(s.stop + margin, n)) for s, n in zip(box, shape)
    )


_PIXEL_CORNERS = [(dy, dx) for dy in (-0.5, 0.5) for dx in (-0.5, 0.5)]


def _largest_extent(ys, xs):
    """Largest distance between two pixel corners of a region, in pixels.

    The farthest corners belong to pixels on the convex hull of the pixel
    centres (the hull of all corners is that hull grown by one pixel square),
    so only those pixels' corners are compared.
    """
    centres = np.stack([ys, xs], axis=1).astype(float)
    if len(centres) > 3:
        from scipy.spatial import ConvexHull

        try:
            centres = centres[ConvexHull(centres).vertices]
        except Exception:  # degenerate (collinear) regions: keep all pixels
            pass
    corners = np.concatenate([centres + offset for offset in _PIXEL_CORNERS])
    diff = corners[:, None, :] - corners[None, :, :]
    return float(np.sqrt((diff**2).sum(-1)).max())
