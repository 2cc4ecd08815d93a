"""The ``diffuseradio`` command: argument parsing only.

Sub-commands: ``detect``, ``models``, ``simulate``, ``train``,
``train-islands``, ``clusters``, ``survey``, ``subtract-compact``. Each calls the package's
objects; errors in the input end the command with a one-line reason and a
non-zero exit status.
"""

import argparse
import logging
import math
import shlex
import sys
import tempfile
from pathlib import Path

__all__ = ["main", "build_parser", "subcommands"]

log = logging.getLogger("diffuseradio")


def main(argv=None):
    """Run the command line; returns the exit status."""
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = argv
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # astropy's logger prints its warnings itself: not a second time through ours
    logging.getLogger("astropy").propagate = False
    from .exceptions import DiffuseRadioError

    try:
        return args.run(args) or 0
    except KeyboardInterrupt:
        print(f"diffuseradio {args.command}: interrupted", file=sys.stderr)
        return 130
    except (DiffuseRadioError, OSError, ValueError, ImportError) as err:
        # OSError: missing files and URLs, unwritable folders, a full disk
        print(f"diffuseradio {args.command}: error: {err}", file=sys.stderr)
        return 2


def build_parser():
    """The ``diffuseradio`` argument parser (its sub-commands in ``subcommands(parser)``)."""
    parser = argparse.ArgumentParser(
        prog="diffuseradio",
        description="Find diffuse radio emission (halos, relics, bridges) in radio images.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _detect_parser(commands)
    _models_parser(commands)
    _simulate_parser(commands)
    _train_parser(commands)
    _train_islands_parser(commands)
    _evaluate_parser(commands)
    _benchmark_parser(commands)
    _clusters_parser(commands)
    _survey_parser(commands)
    _subtract_compact_parser(commands)
    for command in commands.choices.values():
        command.formatter_class = _DefaultsFormatter
        command.add_argument(  # also after the command: diffuseradio detect -v ...
            "-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="log progress"
        )
    return parser


class _DefaultsFormatter(argparse.HelpFormatter):
    """Help that ends each option with its default, where it has a meaningful one."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if (
            "default" in text
            or default in (None, False, argparse.SUPPRESS)
            or isinstance(default, list)
            or not action.option_strings
        ):
            return text
        return f"{text} (default: %(default)s)" if text else "default: %(default)s"


def subcommands(parser):
    """``{name: parser}`` of the sub-commands of :func:`build_parser`'s parser."""
    return next(
        action.choices
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    )


def _version():
    from . import __version__

    return __version__


# --------------------------------------------------------------- detect


def _detect_parser(commands):
    parser = commands.add_parser(
        "detect",
        help="detect diffuse emission in FITS images",
        description="Write STEM.catalog.ecsv, STEM.regions.reg, STEM.mask.fits, "
        "STEM.probability.fits and STEM.png for each input image.",
    )
    parser.add_argument("images", nargs="*", metavar="IMAGE", help="FITS images")
    parser.add_argument(
        "--example", action="store_true", help="run on the example field shipped with the package"
    )
    parser.add_argument(
        "-o", "--output", required=True, type=Path, metavar="OUTDIR", help="output folder"
    )
    parser.add_argument("--model", default=None, help="registry name, name@version, path or URL")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps")
    parser.add_argument("--precision", default="auto", help="auto, fp32, bf16")
    _add_operating_point_arguments(parser)
    parser.add_argument(
        "--batch-size", type=_positive_int, default=8, help="tiles per forward pass"
    )
    _add_augment_argument(parser)
    _add_beam_argument(parser, "images")
    _add_native_argument(parser, "IMAGE")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.set_defaults(run=_run_detect)


def _angle(unit):
    """An argparse type: a positive angle; a plain number is in ``unit``.

    "20", "20arcsec" and "0.33 arcmin" are all accepted.
    """

    def parse(text):
        import astropy.units as u

        try:
            value = u.Quantity(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"{text!r} is not an angle") from None
        if value.unit == u.dimensionless_unscaled:
            value = value.value * u.Unit(unit)
        if value.unit.physical_type != "angle" or not value.value > 0:
            raise argparse.ArgumentTypeError(f"{text!r} is not a positive angle")
        return value.to(unit)

    parse.__name__ = "angle"
    return parse


def _positive_int(text):
    """An argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, not {value}")
    return value


def _add_augment_argument(parser):
    parser.add_argument(
        "--augment",
        action="store_true",
        help="test-time augmentation: the 8 rotations and flips of every tile, averaged "
        "(8 times the network's cost; see DiffuseDetector.predict)",
    )


def _add_beam_argument(parser, images):
    parser.add_argument(
        "--beam",
        type=_angle("arcsec"),
        default=None,
        metavar="ANGLE",
        help=f"restoring beam FWHM for {images} whose header has none, arcsec unless a unit "
        'is given ("20", "20arcsec", "0.5 arcmin"; one with a different beam in its '
        "header is refused)",
    )


def _add_native_argument(parser, image):
    parser.add_argument(
        "--native",
        action="append",
        type=Path,
        default=None,
        metavar="FITS",
        help=f'for models with a native-resolution channel: the native image (e.g. LoTSS 6") '
        f"of each {image}, given once per {image} in the same order (without it, {image} must "
        "be the native image itself)",
    )


def _add_operating_point_arguments(parser):
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        metavar="P",
        help="probability that seeds a detection (default: the model card's)",
    )
    parser.add_argument(
        "--low-threshold",
        type=float,
        default=None,
        metavar="P",
        help="probability down to which detections grow (default: the model card's)",
    )
    parser.add_argument(
        "--min-area-beams",
        type=float,
        default=None,
        metavar="BEAMS",
        help="smallest detection in working beams (default: the model card's)",
    )


def _run_detect(args):
    """Detect in every image; a failed image is reported and the others still run.

    Everything that can be checked before the work is (the images' output
    names, existing outputs, the output folder, the model and the operating
    point): a problem there is a usage error (exit status 2) and nothing
    runs. An image that fails is reported in one line; the exit status is 1
    when any did.
    """

    from .catalog import mosaic_stem
    from .detector import DiffuseDetector
    from .examples import example_field_path

    images = [Path(p) for p in args.images]
    if args.example:
        images.append(example_field_path())
    if not images:
        raise ValueError("give at least one IMAGE, or --example")
    natives = args.native or [None] * len(images)
    if len(natives) != len(images):
        raise ValueError(f"give --native once per IMAGE: {len(natives)} for {len(images)}")
    stems = [mosaic_stem(path) for path in images]
    _check_outputs(images, stems, args.output, args.overwrite)
    detector = DiffuseDetector.from_pretrained(
        args.model, device=args.device, precision=args.precision, progress=not args.no_progress
    )
    detector.card.detection_settings(args.threshold, args.low_threshold, args.min_area_beams)
    beam = args.beam
    failed = 0
    for path, native_path, stem in zip(images, natives, stems, strict=True):
        try:
            count = _detect_one(detector, args, path, native_path, stem, beam)
        except Exception as err:
            if not _is_input_error(err):
                raise
            failed += 1
            where = "" if str(path) in str(err) else f"{path}: "
            print(f"diffuseradio detect: {where}error: {err}", file=sys.stderr)
            continue
        print(f"{path}: {count} detections -> {args.output / stem}.*")
    if failed and len(images) > 1:
        print(f"diffuseradio detect: {failed} of {len(images)} images failed", file=sys.stderr)
    return 1 if failed else 0


def _check_outputs(images, stems, outdir, overwrite):
    """Refuse, before any work, names that collide and outputs that would be replaced."""
    from .catalog import output_paths

    seen = {}
    for path, stem in zip(images, stems, strict=True):
        if stem in seen:
            raise ValueError(
                f"{seen[stem]} and {path} would both write {outdir / stem}.*: "
                "rename one, or run them into different output folders"
            )
        seen[stem] = path
        existing = [t for t in output_paths(outdir, stem) if t.exists()]
        if existing and not overwrite:
            raise FileExistsError(f"{existing[0]} exists; use --overwrite to replace it")
    try:
        outdir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=outdir):
            pass
    except OSError as err:
        raise ValueError(f"cannot write into the output folder {outdir}: {err.strerror}") from None


def _read_with_beam(path, beam):
    """:func:`~diffuseradio.mosaic.survey_mosaic.read_with_beam`, its errors naming ``--beam``."""
    from .exceptions import MissingBeamError
    from .mosaic.survey_mosaic import read_with_beam

    try:
        return read_with_beam(path, beam)
    except MissingBeamError as err:
        raise MissingBeamError(f"{err}; on the command line: --beam ARCSEC") from None


def _detect_one(detector, args, path, native_path, stem, beam):
    """Detect in one image and write its products; returns the number of detections."""
    from .catalog import write_outputs
    from .mosaic import SurveyMosaic

    mosaic = _read_with_beam(path, beam)
    native = None if native_path is None else SurveyMosaic.read(native_path)
    catalog = detector.detect(
        mosaic,
        native=native,
        threshold=args.threshold,
        low_threshold=args.low_threshold,
        min_area_beams=args.min_area_beams,
        batch_size=args.batch_size,
        augment=args.augment,
        progress=not args.no_progress,
    )
    catalog.meta["command"] = shlex.join(["diffuseradio", *args.argv])
    write_outputs(catalog, args.output, stem)
    return len(catalog)


def _is_input_error(err):
    """Whether an exception is a reportable problem of one input (not a bug)."""
    from .exceptions import DiffuseRadioError

    return isinstance(err, DiffuseRadioError | OSError | ValueError)


# --------------------------------------------------------------- models


def _models_parser(commands):
    parser = commands.add_parser("models", help="list the registered models")
    parser.set_defaults(run=_run_models)


def _run_models(args):
    from .models import available_models

    table = available_models()
    if len(table) == 0:
        print("no models registered")
    else:
        table.pprint_all()


# ------------------------------------------------------------- simulate


def _simulate_parser(commands):
    parser = commands.add_parser(
        "simulate",
        help="simulate LoTSS-like fields with truth maps",
        description="Write STEM.image.fits, STEM.truth.fits and STEM.objects.ecsv per field.",
    )
    parser.add_argument("-n", type=int, default=1, help="number of fields")
    parser.add_argument("--size", type=int, default=1024, help="field side, pixels")
    parser.add_argument(
        "--pixel-scale",
        type=_angle("arcsec"),
        default="1.5",
        help="pixel side (arcsec unless given)",
    )
    parser.add_argument(
        "--beam", type=_angle("arcsec"), default="6", help="beam FWHM (arcsec unless given)"
    )
    parser.add_argument("--rms", type=float, default=80e-6, help="noise, Jy/beam")
    parser.add_argument("--seed", type=int, default=0, help="master seed of the simulated fields")
    parser.add_argument(
        "-o", "--output", required=True, type=Path, metavar="DIR", help="output folder"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(run=_run_simulate)


def _run_simulate(args):
    import astropy.units as u

    from .simulate import SkySimulator, write_fields

    simulator = SkySimulator(
        args.size,
        args.pixel_scale,
        args.beam,
        args.rms * u.Jy / u.beam,
        seed=args.seed,
    )
    write_fields(simulator, args.n, args.output, progress=not args.no_progress)


# ---------------------------------------------------------------- train


def _train_parser(commands):
    parser = commands.add_parser(
        "train",
        help="train a network on simulated fields or image/mask pairs",
        description="Train as a TOML configuration says (see the training docs), "
        "or resume a run from its checkpoint.",
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", type=Path, help="TOML configuration file")
    source.add_argument(
        "--resume",
        type=Path,
        metavar="CHECKPOINT",
        help="checkpoint folder (or its checkpoint.json) to continue",
    )
    parser.add_argument(
        "--output", type=Path, default=None, help="run folder (default: [training] output_dir)"
    )
    parser.add_argument(
        "--export",
        type=Path,
        default=None,
        metavar="DIR",
        help="after training, export the best weights and card here",
    )
    parser.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, mps")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(run=_run_train)


def _run_train(args):
    import shlex

    from .training import Trainer, TrainingConfig, export_model, join_torchrun

    command = "diffuseradio " + " ".join(shlex.quote(a) for a in args.argv)
    device = join_torchrun(args.device)
    if args.resume:
        trainer = Trainer.resume(args.resume, device=device)
    else:
        config = TrainingConfig.read(args.config)
        trainer = Trainer(config, output_dir=args.output, device=device, command=command)
    history = trainer.fit(progress=not args.no_progress)
    if args.export and trainer.rank == 0:
        trainer.load_best()
        best = max(history, key=lambda record: record.get("score", -math.inf))
        card = export_model(
            trainer.network,
            trainer.config,
            args.export,
            metrics=best,
            command=trainer.command or command,
        )
        print(f"exported {card}")


def _train_islands_parser(commands):
    parser = commands.add_parser(
        "train-islands",
        help="add a second stage (island classifier) to a model trained on simulated fields",
        description="Train an island classifier on the islands of fields simulated with MODEL's "
        "training configuration, and save MODEL's network with it as a new version.",
    )
    parser.add_argument("model", help="registry name, name@version or card path")
    parser.add_argument(
        "--card-version", required=True, metavar="VERSION", help="version of the new card"
    )
    parser.add_argument("--output", type=Path, required=True, help="folder for weights and card")
    parser.add_argument("--fields", type=int, default=500, help="training fields (500)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the training fields (0)")
    parser.add_argument("--validation-fields", type=int, default=48, help="validation fields (48)")
    parser.add_argument("--epochs", type=int, default=16, help="passes over the training fields")
    parser.add_argument(
        "--batch-size", type=int, default=64, help="islands per step (64; larger on a GPU)"
    )
    parser.add_argument(
        "--learning-rate",
        type=float,
        default=2e-3,
        help="peak of the one-cycle schedule (2e-3; scale with the batch size)",
    )
    parser.add_argument(
        "--classifier-widths",
        type=int,
        nargs=3,
        default=None,
        metavar="W",
        help="channels of the classifier's three convolutional blocks (32 64 96)",
    )
    parser.add_argument(
        "--diffuse-fraction",
        type=float,
        default=0.5,
        help="an island is labelled diffuse when at least this fraction of it is diffuse truth "
        "(0.5)",
    )
    parser.add_argument(
        "--focal-gamma",
        type=float,
        default=0.0,
        help="focal loss exponent: weigh the hard islands more (0: plain cross-entropy)",
    )
    parser.add_argument(
        "--network-seed",
        type=int,
        default=0,
        help="seed of the classifier's initial weights and batch order",
    )
    parser.add_argument("--workers", type=int, default=1, help="processes simulating fields")
    for option, default in [
        ("seed-snr", 5.0),
        ("grow-snr", 3.0),
        ("min-area-beams", 4.0),
        ("max-area-beams", 300.0),
    ]:
        parser.add_argument(f"--{option}", type=float, default=default, help=f"({default:g})")
    parser.add_argument("--cutout-pixels", type=int, default=32, help="(32)")
    parser.add_argument(
        "--device", default="auto", help="where the classifier trains: auto, cpu, cuda, cuda:1"
    )
    parser.add_argument(
        "--precision",
        default="auto",
        help="auto (bf16 where the device computes it natively), fp32 or bf16",
    )
    parser.add_argument(
        "--examples-dir",
        type=Path,
        default=None,
        help="keep the simulated islands there and reuse them in later runs with the same "
        "model, fields and island settings",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(run=_run_train_islands)


def _run_train_islands(args):
    import shlex

    from .models import IslandSettings, save_model
    from .training import train_island_stage

    settings = IslandSettings(
        seed_snr=args.seed_snr,
        grow_snr=args.grow_snr,
        min_area_beams=args.min_area_beams,
        max_area_beams=args.max_area_beams,
        cutout_pixels=args.cutout_pixels,
    )
    widths = args.classifier_widths
    fit = {
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "learning_rate": args.learning_rate,
        "seed": args.network_seed,
        "device": args.device,
        "precision": args.precision,
        "focal_gamma": args.focal_gamma,
    }
    recipe = ("fields", "seed", "validation_fields", "diffuse_fraction", "workers")
    examples = {key: getattr(args, key) for key in recipe} | {"cache_dir": args.examples_dir}
    network, card = train_island_stage(
        args.model,
        settings,
        version=args.card_version,
        classifier_args=widths and {"widths": widths},
        fit=fit,
        progress=not args.no_progress,
        command="diffuseradio " + " ".join(shlex.quote(a) for a in args.argv),
        examples=examples,
    )
    print(f"saved {save_model(network, card, args.output)}")


# ------------------------------------------------------------- evaluate


def _evaluate_parser(commands):
    parser = commands.add_parser(
        "evaluate",
        help="count what models find on held-out simulated fields",
        description="Completeness, purity and radio galaxies taken for diffuse emission of "
        "each model on fields simulated with its training configuration and seeds it never "
        "saw, at the card's operating point (or a sweep of points). Figures on the "
        "package's own simulator: an upper bound, not a result about the sky.",
    )
    parser.add_argument("models", nargs="+", help="registry names, name@version or card paths")
    parser.add_argument(
        "--seed", type=int, nargs="+", default=[777], help="seeds of the fields (777)"
    )
    parser.add_argument(
        "--fields", type=int, nargs="+", default=[48], help="fields per seed (48), or one per seed"
    )
    parser.add_argument("--sweep", action="store_true", help="count a grid of operating points")
    _add_augment_argument(parser)
    parser.add_argument(
        "-o", "--output", type=Path, default=None, help="write NAME-VERSION.json (and .sweep.ecsv)"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(run=_run_evaluate)


def _run_evaluate(args):
    import json

    from .detector import DiffuseDetector
    from .training import evaluate_models

    detectors = [DiffuseDetector.from_pretrained(m, device=args.device) for m in args.models]
    fields = args.fields[0] if len(args.fields) == 1 else args.fields
    evaluations = evaluate_models(
        detectors,
        seeds=args.seed,
        fields=fields,
        augment=args.augment,
        sweep=args.sweep,
        progress=not args.no_progress,
    )
    if args.output is not None:
        args.output.mkdir(parents=True, exist_ok=True)
    for evaluation in evaluations:
        card = evaluation.card
        summary = evaluation.summary() if evaluation.card_point in evaluation.counts else None
        print(f"{card.identifier}: seeds {args.seed}, fields {evaluation.fields}")
        if args.sweep:
            evaluation.sweep_table().pprint_all()
            for rule, purity in (("best F1", None), ("most complete at purity >= 0.85", 0.85)):
                point, best = evaluation.operating_point(min_purity=purity)
                print(f"  operating point ({rule}, <= 10 % of radio galaxies): {point}")
        if summary is not None:
            for key in ("completeness_snr_ge_8", "purity", "radio_galaxy_false_positive_rate"):
                low, high = summary[f"{key}_interval"]
                print(f"  {key:<34} {summary[key]:.3f} (68 % interval {low:.3f}-{high:.3f})")
        if args.output is not None:
            stem = args.output / f"{card.name}-{card.version}"
            if summary is not None:
                Path(f"{stem}.json").write_text(json.dumps(summary, indent=1))
            if args.sweep:
                evaluation.sweep_table().write(f"{stem}.sweep.ecsv", overwrite=True)


# ------------------------------------------------------------ benchmark


def _benchmark_parser(commands):
    parser = commands.add_parser(
        "benchmark",
        help="score a model on skies unlike its training data (the shift benchmark)",
        description="Simulator shifts, real LoTSS backgrounds with injected halos and relics, "
        "real relics, halos and radio galaxies: completeness, purity and false detections "
        "per cell, worst cell first.",
    )
    parser.add_argument("model", nargs="?", default=None, help="model (default: the default)")
    parser.add_argument(
        "--real-data",
        type=Path,
        default=None,
        help="folder of the real images (laid out as shared/data/real); without it the "
        "real cells are skipped",
    )
    parser.add_argument("--quick", action="store_true", help="a few fields per cell")
    _add_augment_argument(parser)
    parser.add_argument("-o", "--output", type=Path, default=None, help="write the table (ECSV)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps")
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(run=_run_benchmark)


def _run_benchmark(args):
    from .detector import DiffuseDetector
    from .training import benchmark_table, breakdown_table, run_benchmark

    detector = DiffuseDetector.from_pretrained(args.model, device=args.device)
    cells = run_benchmark(
        detector,
        real_data=args.real_data,
        quick=args.quick,
        augment=args.augment,
        progress=not args.no_progress,
    )
    table = benchmark_table(cells)
    print(f"{detector.card.identifier}: shift benchmark, worst cell first")
    breakdown = ("completeness_", "sources_", "note")
    table[[c for c in table.colnames if not c.startswith(breakdown)]].pprint_all()
    print("\nsources found / counted (integrated S/N >= 8), by kind and by size in working beams")
    breakdown_table(cells).pprint_all()
    print(f"worst cell: {table.meta['worst_cell']} (score {table.meta['worst_score']:.2f})")
    if args.output is not None:
        from .atomic import atomic_write

        atomic_write(args.output, lambda tmp: table.write(tmp, format="ascii.ecsv"))


# ------------------------------------------------------------- clusters


def _clusters_parser(commands):
    parser = commands.add_parser(
        "clusters",
        help="score and measure diffuse emission in the clusters of a catalogue",
        description="For each cluster of CATALOG (PSZ2, MCXC or any table with positions and "
        "redshifts) covered by a MOSAIC: a score, yes/no, the diffuse detections near its "
        "centre and coverage flags. Writes clusters.ecsv/.fits, detections.ecsv/.reg, "
        "gallery.html and per-cluster files in OUTDIR/clusters/; a rerun resumes.",
    )
    parser.add_argument("catalog", type=Path, metavar="CATALOG", help="cluster table file")
    parser.add_argument("mosaics", nargs="+", type=Path, metavar="MOSAIC", help="FITS images")
    parser.add_argument(
        "-o", "--output", required=True, type=Path, metavar="OUTDIR", help="output folder"
    )
    parser.add_argument("--model", default=None, help="registry name, name@version, path or URL")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps")
    parser.add_argument("--precision", default="auto", help="auto, fp32, bf16")
    for option, what in (
        ("ra", "RA"),
        ("dec", "Dec"),
        ("z", "redshift"),
        ("r500", "R500 (Mpc)"),
        ("m500", "M500 (1e14 Msun)"),
        ("name", "cluster name"),
    ):
        parser.add_argument(
            f"--{option}", default=None, metavar="COL", help=f"{what} column (default: by name)"
        )
    parser.add_argument(
        "--box-size", type=float, default=2.5, metavar="MPC", help="cut-out side (default 2.5)"
    )
    parser.add_argument(
        "--aperture", type=float, default=1.0, metavar="R500", help="aperture radius (default 1)"
    )
    parser.add_argument(
        "--score-threshold", type=float, default=0.5, metavar="P", help="yes/no threshold"
    )
    _add_operating_point_arguments(parser)
    _add_augment_argument(parser)
    parser.add_argument(
        "--max-rms",
        type=float,
        default=None,
        metavar="JY_PER_BEAM",
        help="flag clusters whose cut-out is noisier",
    )
    parser.add_argument("--spectral-index", type=float, default=1.3, help="for radio powers")
    _add_beam_argument(parser, "mosaics")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="classify every cluster again, replacing an earlier run's products in OUTDIR",
    )
    parser.add_argument(
        "--scheduler", default=None, metavar="ADDRESS", help="run on this Dask scheduler"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.set_defaults(run=_run_clusters)


def _run_clusters(args):
    import astropy.units as u

    from .catalog import read_catalogue
    from .clusters import classify_clusters
    from .detector import DiffuseDetector
    from .exceptions import MissingBeamError

    if not args.catalog.exists():
        raise FileNotFoundError(f"no such file: {args.catalog}")
    clusters = read_catalogue(args.catalog)
    detector = DiffuseDetector.from_pretrained(
        args.model, device=args.device, precision=args.precision, progress=not args.no_progress
    )
    try:
        table = classify_clusters(
            detector,
            clusters,
            args.mosaics,
            ra=args.ra,
            dec=args.dec,
            redshift=args.z,
            r500=args.r500,
            m500=args.m500,
            name=args.name,
            box_size=args.box_size * u.Mpc,
            aperture=args.aperture,
            spectral_index=args.spectral_index,
            score_threshold=args.score_threshold,
            detection_threshold=args.threshold,
            low_threshold=args.low_threshold,
            min_area_beams=args.min_area_beams,
            augment=args.augment,
            max_rms=None if args.max_rms is None else args.max_rms * u.Jy / u.beam,
            outdir=args.output,
            client=args.scheduler or None,
            progress=not args.no_progress,
            beam=args.beam,
            overwrite=args.overwrite,
        )
    except MissingBeamError as err:
        raise MissingBeamError(f"{err}; on the command line: --beam ARCSEC") from None
    covered = int(((table["flags"] & 1) == 0).sum())
    print(
        f"{len(table)} clusters, {covered} covered, {int(table['has_diffuse'].sum())} with "
        f"diffuse emission (score >= {args.score_threshold}) -> {args.output / 'clusters.ecsv'}"
    )


# --------------------------------------------------------------- survey


def _survey_parser(commands):
    parser = commands.add_parser(
        "survey",
        help="detect diffuse emission in many mosaics on a Dask cluster",
        description="Write the outputs of detect (no plot) for each MOSAIC, then the "
        "de-duplicated survey.catalog.ecsv and survey.regions.reg, and survey.summary.ecsv. "
        "A rerun with the same OUTDIR skips the mosaics already done. Exit status 1 when "
        "some mosaics failed (see the summary).",
    )
    parser.add_argument("mosaics", nargs="+", type=Path, metavar="MOSAIC", help="FITS images")
    parser.add_argument(
        "-o", "--output", required=True, type=Path, metavar="OUTDIR", help="output folder"
    )
    parser.add_argument("--model", default=None, help="registry name, name@version, path or URL")
    _add_native_argument(parser, "MOSAIC")
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="address of a running Dask scheduler (default: start a local cluster)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="workers of the local cluster (default: one per GPU, else per CPU core)",
    )
    parser.add_argument(
        "--threads-per-worker", type=int, default=1, metavar="T", help="PyTorch threads per worker"
    )
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1")
    parser.add_argument("--precision", default="auto", help="auto, fp32, bf16")
    _add_operating_point_arguments(parser)
    parser.add_argument(
        "--batch-size", type=_positive_int, default=8, help="tiles per forward pass"
    )
    parser.add_argument(
        "--match-radius",
        type=_angle("arcmin"),
        default="1",
        metavar="ANGLE",
        help="smallest radius for the same source in two mosaics (arcmin unless a unit is given)",
    )
    parser.add_argument(
        "--crossmatch",
        type=Path,
        default=None,
        metavar="CATALOG",
        help="cluster catalogue to cross-match with (FITS, ECSV, VOTable)",
    )
    parser.add_argument(
        "--crossmatch-radius",
        type=_angle("arcmin"),
        default="3",
        metavar="ANGLE",
        help="largest separation of a cluster match (arcmin unless a unit is given)",
    )
    _add_augment_argument(parser)
    _add_beam_argument(parser, "mosaics")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="process every mosaic again, replacing an earlier run's outputs in OUTDIR",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(run=_run_survey)


def _run_survey(args):

    from .survey import run_survey

    result = run_survey(
        args.mosaics,
        args.output,
        natives=args.native,
        model=args.model,
        client=args.scheduler,
        n_workers=args.workers,
        threads_per_worker=args.threads_per_worker,
        device=args.device,
        precision=args.precision,
        threshold=args.threshold,
        low_threshold=args.low_threshold,
        min_area_beams=args.min_area_beams,
        batch_size=args.batch_size,
        augment=args.augment,
        match_radius=args.match_radius,
        crossmatch=args.crossmatch,
        crossmatch_radius=args.crossmatch_radius,
        progress=not args.no_progress,
        beam=args.beam,
        overwrite=args.overwrite,
    )
    result.summary.pprint_all()
    total, failed = len(result.summary), len(result.failed)
    print(
        f"{total - failed} of {total} mosaics done, {failed} failed; "
        f"{len(result.catalog)} detections -> {result.files['catalog']}"
    )
    return 1 if failed else 0


# ------------------------------------------------------ subtract-compact


def _subtract_compact_parser(commands):
    parser = commands.add_parser(
        "subtract-compact",
        help="subtract the compact sources of a native image from a tapered one",
        description="Write TAPERED minus the compact sources of NATIVE at TAPERED's beam "
        '(e.g. LoTSS 20" minus the 6" image\'s compact sources) as '
        "OUTDIR/STEM.subtracted.fits, STEM being TAPERED's file name less .fits.",
    )
    parser.add_argument("tapered", type=Path, help="FITS image at the coarser beam")
    parser.add_argument("native", type=Path, help="FITS image of the same field at a finer beam")
    parser.add_argument(
        "-o", "--output", required=True, type=Path, metavar="OUTDIR", help="output folder"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output")
    parser.set_defaults(run=_run_subtract_compact)


def _run_subtract_compact(args):
    from .catalog import mosaic_stem
    from .mosaic import SurveyMosaic
    from .preprocess.compact import subtract_compact

    output = args.output / f"{mosaic_stem(args.tapered)}.subtracted.fits"
    if output.exists() and not args.overwrite:
        raise FileExistsError(f"{output} exists (use --overwrite)")
    tapered, native = SurveyMosaic.read(args.tapered), SurveyMosaic.read(args.native)
    subtracted = subtract_compact(tapered, native)
    args.output.mkdir(parents=True, exist_ok=True)
    subtracted.write(output, overwrite=args.overwrite)
    print(f"wrote {output}")
