"""Benchmark: DiffuseDetector.detect on survey-size mosaics.

For each image size, architecture and precision, one fresh process reads
the mosaic (memory-mapped float64 FITS, NaN outside a circle as in
LoTSS-DR2), runs ``detect`` (resolution matching, normalisation, tiled
inference, stitching, back-projection, labelling, measurements) and reports
the wall time, throughput in input megapixels per second and the process's
peak resident memory. The bundled model is used for the architecture it has
(the U-Net); for the others, an untrained network of the architecture's card
in ``configs/`` (the speed does not depend on the weights).

Usage::

    python benchmarks/bench_detect.py [--sizes 2048 9500] [--threads 2]
    python benchmarks/bench_detect.py --models lotss-diffuse-unet@1.6.0 --precisions bf16
    python benchmarks/bench_detect.py --devices cpu cuda --sizes 9500

``--devices cuda`` runs the network on the GPU (the rest of ``detect`` stays
on the CPU threads) and adds the GPU's peak allocated memory.

``--models`` compares registered models (``name@version``; e.g. a model
without and with the island stage, registered with
:func:`~diffuseradio.models.register_model`) instead of one model of each
architecture.
"""

import argparse
import multiprocessing
import resource
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_mosaic import make_mosaic  # noqa: E402

CONFIGS = HERE.parent / "configs"


def load_detector(architecture, precision, device="cpu"):
    """A registered model (``name@version``), the registered model of an architecture, or
    else an untrained network with the architecture's card."""
    import torch

    from diffuseradio import DiffuseDetector, ModelNotFoundError
    from diffuseradio.models import build_network
    from diffuseradio.training import TrainingConfig, model_card

    if "@" in architecture:
        detector = DiffuseDetector.from_pretrained(architecture, device=device, precision=precision)
        return detector, "trained"
    name = f"lotss-diffuse-{architecture}"
    try:
        return DiffuseDetector.from_pretrained(name, device=device, precision=precision), "trained"
    except ModelNotFoundError:
        card = model_card(TrainingConfig.read(CONFIGS / f"{name}.toml"))
        torch.manual_seed(0)
        network = build_network(card)
        return DiffuseDetector(network, card, device=device, precision=precision), "untrained"


def _run(path, architecture, precision, threads, augment, device, queue):
    import torch

    from diffuseradio import SurveyMosaic

    torch.set_num_threads(threads)
    detector, weights = load_detector(architecture, precision, device)
    if device != "cpu":  # CUDA start-up (context, kernels) is not the mosaic's cost
        whole = SurveyMosaic.read(path)
        centre = whole.wcs.pixel_to_world(whole.shape[1] / 2, whole.shape[0] / 2)
        detector.predict(whole.cutout(centre, 512), augment=augment)
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    mosaic = SurveyMosaic.read(path)
    catalog = detector.detect(mosaic, augment=augment)
    len(catalog.table)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    gpu_peak = torch.cuda.max_memory_allocated() / 2**20 if device != "cpu" else float("nan")
    queue.put((elapsed, peak, gpu_peak, weights, len(catalog)))


def measure(path, architecture, precision, threads, augment, device="cpu"):
    """Run one detection in a fresh process: (seconds, peak MiB, GPU peak MiB, weights,
    detections)."""
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(
        target=_run, args=(path, architecture, precision, threads, augment, device, queue)
    )
    process.start()
    result = queue.get()
    process.join()
    return result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 9500])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--architectures", nargs="+", default=["unet", "transunet"])
    parser.add_argument(
        "--models", nargs="+", default=None, help="registered models (name@version) instead"
    )
    parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"])
    parser.add_argument(
        "--augment",
        nargs="+",
        default=["off"],
        choices=["off", "on"],
        help="test-time augmentation (8 passes) off and/or on",
    )
    parser.add_argument("--devices", nargs="+", default=["cpu"], help="cpu and/or cuda")
    args = parser.parse_args()
    models = args.models or args.architectures
    width = max(10, *(len(m) for m in models))
    print(
        f"{'image':>11} {'model':>{width}} {'prec':>5} {'weights':>9} {'time [s]':>9} "
        f"{'Mpix/s':>7} {'peak RSS [MiB]':>15} {'GPU [MiB]':>10} {'detections':>10} "
        f"{'TTA':>4} {'device':>6}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            path = Path(tmp) / f"mosaic{size}.fits"
            make_mosaic(path, size)
            configurations = [
                (architecture, precision, augment, device)
                for device in args.devices
                for architecture in models
                for precision in args.precisions
                for augment in args.augment
            ]
            for architecture, precision, augment, device in configurations:
                seconds, peak, gpu_peak, weights, found = measure(
                    path, architecture, precision, args.threads, augment == "on", device
                )
                print(
                    f"{size:>5}x{size:<5} {architecture:>{width}} {precision:>5} {weights:>9} "
                    f"{seconds:>9.1f} {size**2 / 1e6 / seconds:>7.2f} {peak:>15.0f} "
                    f"{gpu_peak:>10.0f} {found:>10} {augment:>4} {device:>6}",
                    flush=True,
                )
            path.unlink()


if __name__ == "__main__":
    main()
