"""`renovo restore`: the platform's main job on local files, without any service.

    renovo restore IN... -o OUT --type sr|sr2d|restore|restore_scratch|none [--scale N] [--noise N]
                   [--style art|photo] [--tile N] [--device cpu|cuda] [--threads N] [--backend auto|torch|ncnn]
                   [--format auto|png|webp|jpeg] [--quality 1-100] [--flatten]

OUT is a directory when there are several inputs (or it already is one); each result is `<stem>.<ext>` there,
in --format (`auto`: PNG for lossless or transparent originals, else JPEG at quality 95). A single OUT file
ending in .png, .webp, .jpg or .jpeg is written in that format whatever --format says. Results keep the
original's EXIF (upright) and ICC profile. JPEG cannot hold transparency: --flatten lays it on white.
A bad input gets a one-line error and the others go on; the exit status is 1 when any input failed, 2 for
bad arguments.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared.enhancements import TYPES, OptionError, get_type

from .progress import Progress

EXIT_FAILED, EXIT_USAGE = 1, 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and --help)."""
    parser = argparse.ArgumentParser(prog="renovo", description="Renovo image restoration on local files.")
    commands = parser.add_subparsers(dest="command", required=True)
    restore = commands.add_parser("restore", help="restore or upscale images")
    restore.add_argument("inputs", nargs="+", type=Path, metavar="IN", help="input image files")
    restore.add_argument(
        "-o", "--output", required=True, metavar="OUT", help="output file or folder (a trailing / makes it a folder)"
    )
    restore.add_argument("--type", required=True, choices=sorted(TYPES), dest="type_name", help="enhancement")
    restore.add_argument("--scale", type=int, help="sr: 2, 3, 4; sr2d: 1, 2, 4")
    restore.add_argument("--noise", type=int, help="sr2d: -1 (keep) … 3")
    restore.add_argument("--style", choices=("art", "photo"), help="sr2d: art (CUNet) or photo (UpConv7)")
    restore.add_argument("--face-enhance", action="store_true", default=None, help="restore*: restore faces")
    restore.add_argument("--tile", type=int, help="tile size in input pixels (default: from free memory)")
    restore.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    restore.add_argument("--threads", type=int, help="CPU threads for torch/ncnn (default: torch's choice)")
    restore.add_argument(
        "--backend",
        choices=("auto", "torch", "ncnn"),
        default="auto",
        help="runtime for sr/sr2d: auto (ncnn on the CPU where installed, torch on CUDA; as the worker)",
    )
    restore.add_argument(
        "--precision", choices=("auto", "fp32", "bf16", "fp16"), default="auto", help="autocast dtype"
    )
    restore.add_argument("--format", choices=("auto", "png", "webp", "jpeg", "jpg"), default="auto",
                         dest="output_format", help="result format (default auto; OUT's extension decides)")
    restore.add_argument("--quality", type=int, help="JPEG/WebP quality 1-100 (default 95 JPEG, 90 WebP; "
                                                     "WebP 100 is lossless)")
    restore.add_argument("--flatten", action="store_true", help="JPEG: lay transparency on white")
    admin = commands.add_parser("admin", help="operator commands: queues, dead letters, a user's jobs",
                                add_help=False)
    admin.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def admin(argv: Sequence[str]) -> int:
    """`renovo admin …`: the jobs service's operator commands, run through that service's own entry point
    (`python -m services.jobs.admin`) rather than by importing its insides."""
    import subprocess

    return subprocess.call([sys.executable, "-m", "services.jobs.admin", *argv])


def _options(args: argparse.Namespace) -> dict[str, Any]:
    given = {"scale": args.scale, "noise": args.noise, "style": args.style, "face_enhance": args.face_enhance}
    return get_type(args.type_name).validate_options({k: v for k, v in given.items() if v is not None})


def _duration(seconds: float) -> str:
    """"45 s", "3 min", "1 h 20 min": the precision a person waiting needs."""
    if seconds < 60:
        return f"{max(1, round(seconds))} s"
    if seconds < 3600:
        return f"{round(seconds / 60)} min"
    return f"{int(seconds // 3600)} h {round(seconds % 3600 / 60)} min"


def _destinations(inputs: Sequence[Path], out: str) -> list[Path]:
    output = Path(out)  # (a Path forgets the trailing slash that says "folder")
    if len(inputs) == 1 and not output.is_dir() and not out.endswith(("/", "\\")):
        return [output]
    taken: set[str] = set()
    result = []
    for path in inputs:
        name, n = f"{path.stem}.png", 1
        while name in taken:  # two inputs with the same stem from different folders
            name, n = f"{path.stem}_{n}.png", n + 1
        taken.add(name)
        result.append(output / name)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `renovo` console script; returns the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["admin"]:
        return admin(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        options = _options(args)
    except OptionError as exc:
        print(f"renovo: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.quality is not None and not 1 <= args.quality <= 100:
        print("renovo: error: --quality must be from 1 to 100", file=sys.stderr)
        return EXIT_USAGE
    if args.tile is not None and args.tile < 16:
        print("renovo: error: --tile must be at least 16", file=sys.stderr)
        return EXIT_USAGE
    # Heavy imports only now, and torch only for the families that run networks: --help, argument errors and
    # `--type none` stay quick.
    from services.inference.engine import InputError, RunContext
    from services.inference.eta import Eta
    from services.inference.imageio import SOURCE_KEY, decode
    from services.inference.output import encode, format_for_path
    from services.inference.registry import Registry, resolve_backend

    family = get_type(args.type_name).family
    try:
        backend = resolve_backend(args.backend, args.device)
        if family != "none" and args.device != "cpu":  # the CPU needs no check (and the ncnn path no torch)
            from services.inference.device import resolve_device

            resolve_device(args.device)
    except (RuntimeError, ValueError) as exc:
        print(f"renovo: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.threads and (backend == "torch" or family == "bopb"):  # the ncnn backend never imports torch
        import torch

        torch.set_num_threads(args.threads)
    engine = Registry(families=(family,), backend=backend, threads=args.threads).engine(family)
    available = engine.availability()
    if not available.available:
        print(f"renovo: error: {args.type_name} is unavailable: {available.reason}", file=sys.stderr)
        return EXIT_FAILED
    destinations = _destinations(args.inputs, args.output)
    one_file = len(destinations) == 1 and destinations[0] == Path(args.output)
    failed = 0
    took: list[float] = []
    with Progress(total=len(args.inputs)) as bar:
        for index, (source, target) in enumerate(zip(args.inputs, destinations, strict=True)):
            bar.description = source.name
            eta = Eta()

            def progress(fraction: float, base: int = index, eta: Eta = eta) -> None:
                bar.n = base + min(max(fraction, 0.0), 1.0)
                left = eta.update(fraction) if fraction < 1.0 else None
                if left is not None:
                    # This image's estimate, and the images after it at the pace of those done (or this one's).
                    per_image = sum(took) / len(took) if took else left / max(1e-3, 1.0 - fraction)
                    bar.postfix = f", about {_duration(left + per_image * (len(args.inputs) - base - 1))} left"
                bar.refresh()

            ctx = RunContext(
                progress=progress, device=args.device, tile=args.tile, precision=args.precision
            )
            started = time.monotonic()
            try:
                image = decode(source)
                result = engine.run(image, args.type_name, options, ctx)
                fmt = format_for_path(target.suffix, args.output_format) if one_file else args.output_format
                encoded = encode(result.image, fmt, args.quality, flatten=args.flatten,
                                 source=image.info.get(SOURCE_KEY))
                if not one_file:
                    target = target.with_suffix(f".{encoded.extension}")
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(encoded.data)
                took.append(time.monotonic() - started)
            except (InputError, OSError, RuntimeError) as exc:
                failed += 1
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                bar.write(f"renovo: {source}: {reason}")
            progress(1.0)
    if failed:
        print(f"renovo: {failed} of {len(args.inputs)} input(s) failed", file=sys.stderr)
    return EXIT_FAILED if failed else 0


if __name__ == "__main__":
    sys.exit(main())
