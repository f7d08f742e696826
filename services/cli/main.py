"""`renovo restore`: the platform's main job on local files, without any service.

    renovo restore IN... -o OUT --type sr|sr2d|restore|restore_scratch|none [--scale N] [--noise N]
                   [--style art|photo] [--tile N] [--device cpu|cuda] [--threads N] [--backend torch|ncnn]

OUT is a directory when there are several inputs (or it already is one); each result is `<stem>.png` there.
A bad input gets a one-line error and the others go on; the exit status is 1 when any input failed, 2 for
bad arguments.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shared.enhancements import TYPES, OptionError, get_type

EXIT_FAILED, EXIT_USAGE = 1, 2


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for tests and --help)."""
    parser = argparse.ArgumentParser(prog="renovo", description="Renovo image restoration on local files.")
    commands = parser.add_subparsers(dest="command", required=True)
    restore = commands.add_parser("restore", help="restore or upscale images")
    restore.add_argument("inputs", nargs="+", type=Path, metavar="IN", help="input image files")
    restore.add_argument(
        "-o", "--output", required=True, type=Path, metavar="OUT", help="output file or folder"
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
        choices=("torch", "ncnn"),
        default="torch",
        help="CPU runtime for sr/sr2d (default torch)",
    )
    restore.add_argument(
        "--precision", choices=("auto", "fp32", "bf16", "fp16"), default="auto", help="autocast dtype"
    )
    admin = commands.add_parser("admin", help="operator commands: queues, dead letters, a user's jobs",
                                add_help=False)
    admin.add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def admin(argv: Sequence[str]) -> int:
    """`renovo admin …`: the jobs service's operator commands, run through that service's own entry point
    (`python -m services.jobs.admin`) rather than by importing its insides."""
    return subprocess.call([sys.executable, "-m", "services.jobs.admin", *argv])


def _options(args: argparse.Namespace) -> dict[str, Any]:
    given = {"scale": args.scale, "noise": args.noise, "style": args.style, "face_enhance": args.face_enhance}
    return get_type(args.type_name).validate_options({k: v for k, v in given.items() if v is not None})


def _destinations(inputs: Sequence[Path], output: Path) -> list[Path]:
    if len(inputs) == 1 and not output.is_dir() and not str(output).endswith(("/", "\\")):
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
    if args.tile is not None and args.tile < 16:
        print("renovo: error: --tile must be at least 16", file=sys.stderr)
        return EXIT_USAGE
    # Heavy imports only now: --help and argument errors stay instant.
    import torch
    from tqdm import tqdm

    from services.inference.device import resolve_device
    from services.inference.engine import InputError, RunContext
    from services.inference.imageio import decode, encode_png
    from services.inference.registry import Registry

    try:
        resolve_device(args.device)
    except RuntimeError as exc:
        print(f"renovo: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.threads:
        torch.set_num_threads(args.threads)
    family = get_type(args.type_name).family
    engine = Registry(families=(family,), backend=args.backend, threads=args.threads).engine(family)
    available = engine.availability()
    if not available.available:
        print(f"renovo: error: {args.type_name} is unavailable: {available.reason}", file=sys.stderr)
        return EXIT_FAILED
    destinations = _destinations(args.inputs, args.output)
    failed = 0
    with tqdm(
        total=len(args.inputs), unit="img", bar_format="{l_bar}{bar}| {n:.2f}/{total} [{elapsed}]"
    ) as bar:
        for index, (source, target) in enumerate(zip(args.inputs, destinations, strict=True)):
            bar.set_description(source.name)

            def progress(fraction: float, base: int = index) -> None:
                bar.n = base + min(max(fraction, 0.0), 1.0)
                bar.refresh()

            ctx = RunContext(
                progress=progress, device=args.device, tile=args.tile, extra={"precision": args.precision}
            )
            try:
                image = decode(source)
                result = engine.run(image, args.type_name, options, ctx)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(encode_png(result.image))
            except (InputError, OSError, RuntimeError) as exc:
                failed += 1
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                tqdm.write(f"renovo: {source}: {reason}", file=sys.stderr)
            progress(1.0)
    if failed:
        print(f"renovo: {failed} of {len(args.inputs)} input(s) failed", file=sys.stderr)
    return EXIT_FAILED if failed else 0


if __name__ == "__main__":
    sys.exit(main())
