"""The ``diffuseradio`` command: argument parsing only.

Sub-commands: ``detect``, ``models``, ``simulate``, ``train``. Each calls the
package's objects; errors in the input end the command with a one-line
reason and a non-zero exit status.
"""

import argparse
import logging
import shutil
import sys
import tempfile
from pathlib import Path

__all__ = ["main"]

log = logging.getLogger("diffuseradio")


def main(argv=None):
    """Run the command line; returns the exit status."""
    parser = _parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = argv
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    from .exceptions import DiffuseRadioError

    try:
        return args.run(args) or 0
    except (DiffuseRadioError, FileNotFoundError, FileExistsError, ValueError) as err:
        print(f"diffuseradio {args.command}: error: {err}", file=sys.stderr)
        return 2


def _parser():
    parser = argparse.ArgumentParser(
        prog="diffuseradio",
        description="Find diffuse radio emission (halos, relics, bridges) in radio images.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _detect_parser(commands)
    _models_parser(commands)
    _simulate_parser(commands)
    _train_parser(commands)
    return parser


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
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="OUTDIR")
    parser.add_argument("--model", default=None, help="registry name, name@version, path or URL")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps")
    parser.add_argument("--precision", default="auto", help="auto, fp32, bf16")
    parser.add_argument(
        "--threshold",
        type=float,
        default=None,
        help="probability threshold (default: the model card's)",
    )
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument(
        "--beam",
        type=float,
        default=None,
        metavar="ARCSEC",
        help="restoring beam FWHM for images whose header has none",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    parser.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    parser.set_defaults(run=_run_detect)


def _run_detect(args):
    import astropy.units as u

    from .detector import DiffuseDetector
    from .examples import example_field_path
    from .exceptions import MissingBeamError
    from .mosaic import SurveyMosaic

    images = [Path(p) for p in args.images]
    if args.example:
        images.append(example_field_path())
    if not images:
        raise ValueError("give at least one IMAGE, or --example")
    args.output.mkdir(parents=True, exist_ok=True)
    detector = DiffuseDetector.from_pretrained(
        args.model, device=args.device, precision=args.precision
    )
    beam = None if args.beam is None else args.beam * u.arcsec
    for path in images:
        stem = path.name.removesuffix(".gz").removesuffix(".fits").removesuffix(".fit")
        targets = _detect_outputs(args.output, stem)
        existing = [t for t in targets if t.exists()]
        if existing and not args.overwrite:
            raise FileExistsError(f"{existing[0]} exists; use --overwrite to replace it")
        try:
            mosaic = SurveyMosaic.read(path, beam=beam)
        except MissingBeamError as err:
            raise MissingBeamError(f"{err}; on the command line: --beam ARCSEC") from None
        catalog = detector.detect(
            mosaic,
            threshold=args.threshold,
            batch_size=args.batch_size,
            progress=not args.no_progress,
        )
        _write_detect_outputs(catalog, args.output, stem, targets)
        print(f"{path}: {len(catalog)} detections -> {args.output / stem}.*")


def _detect_outputs(outdir, stem):
    return [
        outdir / f"{stem}.{suffix}"
        for suffix in ("catalog.ecsv", "regions.reg", "mask.fits", "probability.fits", "png")
    ]


def _write_detect_outputs(catalog, outdir, stem, targets):
    """Write all outputs in a scratch folder, then move them in: all or nothing."""
    import matplotlib

    matplotlib.use("agg")
    import matplotlib.pyplot as plt

    with tempfile.TemporaryDirectory(dir=outdir, prefix=f".{stem}.") as scratch:
        scratch = Path(scratch)
        catalog.write(scratch / f"{stem}.catalog.ecsv")
        catalog.write_regions(scratch / f"{stem}.regions.reg")
        catalog.write_maps(scratch / stem)
        ax = catalog.plot()
        ax.set_title(f"{stem}: {len(catalog)} diffuse detections")
        ax.figure.savefig(scratch / f"{stem}.png", dpi=110, bbox_inches="tight")
        plt.close(ax.figure)
        for target in targets:
            shutil.move(scratch / target.name, target)


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
    parser.add_argument("--pixel-scale", type=float, default=1.5, help="arcsec")
    parser.add_argument("--beam", type=float, default=6.0, help="beam FWHM, arcsec")
    parser.add_argument("--rms", type=float, default=80e-6, help="noise, Jy/beam")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("-o", "--output", required=True, type=Path, metavar="DIR")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(run=_run_simulate)


def _run_simulate(args):
    import astropy.units as u

    from .simulate import SkySimulator, write_fields

    simulator = SkySimulator(
        args.size,
        args.pixel_scale * u.arcsec,
        args.beam * u.arcsec,
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
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--no-progress", action="store_true")
    parser.set_defaults(run=_run_train)


def _run_train(args):
    import shlex

    from .training import Trainer, TrainingConfig, export_model

    command = "diffuseradio " + " ".join(shlex.quote(a) for a in args.argv)
    if args.resume:
        trainer = Trainer.resume(args.resume, device=args.device)
    else:
        config = TrainingConfig.read(args.config)
        trainer = Trainer(config, output_dir=args.output, device=args.device, command=command)
    history = trainer.fit(progress=not args.no_progress)
    if args.export and trainer.rank == 0:
        trainer.load_best()
        best = max(history, key=lambda record: record.get("val_dice", -1))
        card = export_model(
            trainer.network,
            trainer.config,
            args.export,
            metrics=best,
            command=trainer.command or command,
        )
        print(f"exported {card}")
