"""Benchmark: the whole ``diffuseradio detect`` command, as a user runs it.

Each run is one fresh process, ``diffuseradio detect MOSAIC -o OUT`` with the
default settings (test-time augmentation and the island stage of the
default model, every output written, the overview PNG included), on a
LoTSS-DR2-like mosaic (6" beam, 1.5" pixels, float64 on disk, NaN outside a
circle; see ``bench_mosaic.make_mosaic``). For each mosaic size it prints the
wall time, the CPU time and the peak resident memory of the process (its
``ru_maxrss``), for the default command and for any extra options given,
side by side, each repeated ``--repeats`` times (the median is shown; the
machine is noisy, so compare the ratios of one run).

PyBDSF (``bdsf.process_image``, the LoTSS-DR2 settings of ``bench_peers``)
runs on the same file when it is installed (``--pybdsf``). ``--field sky``
replaces the noise mosaics by simulated LoTSS-like fields (compact sources,
radio galaxies and diffuse sources at the simulator's default, sky-like
densities: :class:`~diffuseradio.simulate.SkySimulator`), on which PyBDSF
has sources to fit, as on the real sky; ``--field dense`` uses the denser
population of ``bench_peers`` (more clusters and radio galaxies than the sky
has).

It also measures this CPU's bf16 matrix-multiply rate on the same threads
(a 2048^2 ``torch.matmul`` in bf16), the ceiling the network's convolutions
are compared with.

``--baseline DIR`` runs the same default command from another checkout of
the package (e.g. a ``git worktree`` of the previous release) beside it, in
the same run: the ratios are the figures to quote.

Usage::

    python benchmarks/bench_cli.py [--sizes 2048 9500 20000] [--repeats 3]
        [--variant="--augment"] [--baseline ../previous-checkout] [--pybdsf]
        [--field noise|sky]
"""

import argparse
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_mosaic import make_mosaic  # noqa: E402
from bench_peers import simulate  # noqa: E402


def make_field(path, size, kind):
    """Write the benchmark's input: a noise mosaic, or a simulated LoTSS-like sky."""
    if kind == "noise":
        make_mosaic(path, size)
        return
    import astropy.units as u

    from diffuseradio.simulate import SkySimulator, write_field

    if kind == "dense":
        field = simulate(size, seed=7)
    else:
        field = SkySimulator(size, 1.5 * u.arcsec, 6 * u.arcsec, 80 * u.uJy / u.beam, seed=7).field(
            0
        )
    write_field(field, path.with_name(path.name.removesuffix(".image.fits")))


PYBDSF = """
import sys, bdsf
bdsf.process_image(sys.argv[1], thresh_isl=4.0, thresh_pix=5.0, rms_box=(150, 15),
                   adaptive_rms_box=True, atrous_do=True, atrous_jmax=4, quiet=True,
                   frequency=1.44e8, ncores={threads}).write_catalog(
    outfile=sys.argv[2], format="fits", catalog_type="srl", clobber=True)
"""


#: Runs a command and reports its own resources: a fresh launcher per run, so
#: that the peak memory is that run's (RUSAGE_CHILDREN keeps the largest child).
LAUNCHER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
status = subprocess.run(sys.argv[1:], capture_output=True).returncode
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps([wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, status]))
"""


def run_once(command, env, cwd):
    """Run a command in a fresh process: (wall s, CPU s, peak RSS MiB, exit status).

    ``cwd`` must not hold a ``diffuseradio`` folder: ``python -c`` imports from
    the working directory first, before ``PYTHONPATH`` (the baseline's checkout).
    """
    import json

    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *command],
        env=env,
        capture_output=True,
        text=True,
        cwd=cwd,
    )
    return tuple(json.loads(done.stdout.strip().splitlines()[-1]))


def bf16_matmul_rate(threads, size=2048, seconds=3.0):
    """GFLOP/s of a bf16 matrix multiply on ``threads`` threads."""
    import torch

    torch.set_num_threads(threads)
    a = torch.randn(size, size, dtype=torch.bfloat16)
    b = torch.randn(size, size, dtype=torch.bfloat16)
    torch.matmul(a, b)
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        torch.matmul(a, b)
        count += 1
    return 2 * size**3 * count / (time.perf_counter() - start) / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 9500])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--variant", action="append", default=[], metavar="OPTIONS",
        help='options of one more configuration, e.g. --variant="--no-augment" (repeatable)',
    )  # fmt: skip
    parser.add_argument("--baseline", type=Path, default=None, help="another checkout to compare")
    parser.add_argument("--pybdsf", action="store_true", help="PyBDSF on the same files")
    parser.add_argument("--field", choices=["noise", "sky", "dense"], default="noise")
    args = parser.parse_args()
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads)}
    print(f"bf16 matmul on {args.threads} threads: {bf16_matmul_rate(args.threads):.0f} GFLOP/s")
    cli = [sys.executable, "-c", "import sys; from diffuseradio.cli import main; sys.exit(main())"]
    # name: (options after the default command, environment)
    configurations = {"default": ([], env)} | {v: (shlex.split(v), env) for v in args.variant}
    if args.baseline is not None:
        old = {**env, "PYTHONPATH": str(args.baseline.resolve())}
        configurations[f"baseline {args.baseline.name}"] = ([], old)
    print(f"{'mosaic':>7} {'configuration':>24} {'wall [s]':>9} {'CPU [s]':>8} "
          f"{'peak RSS [MiB]':>15} {'runs':>5}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"mosaic{size}.image.fits"
            make_field(path, size, args.field)
            runs = {name: [] for name in configurations}
            if args.pybdsf:
                runs["PyBDSF"] = []
            for repeat in range(args.repeats):
                for index, (name, (options, environment)) in enumerate(configurations.items()):
                    out = Path(tmp) / f"out-{size}-{repeat}-{index}"
                    detect = ["detect", str(path), "-o", str(out), "--no-progress", *options]
                    runs[name].append(run_once(cli + detect, environment, tmp))
                if args.pybdsf:
                    script = PYBDSF.format(threads=args.threads)
                    command = [sys.executable, "-c", script, str(path), f"{tmp}/srl.fits"]
                    runs["PyBDSF"].append(run_once(command, env, tmp))
            for name, measured in runs.items():
                wall = statistics.median(m[0] for m in measured)
                cpu = statistics.median(m[1] for m in measured)
                peak = statistics.median(m[2] for m in measured)
                failed = sum(m[3] != 0 for m in measured)
                note = f" ({failed} failed)" if failed else ""
                print(f"{size:>7} {name:>24} {wall:9.1f} {cpu:8.1f} {peak:15.0f} "
                      f"{len(measured):>5}{note}")  # fmt: skip


if __name__ == "__main__":
    main()
