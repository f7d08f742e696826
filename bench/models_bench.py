"""Time per input megapixel of our PyTorch path against ncnn's CPU runtime, same image, same threads.

    python bench/models_bench.py --process          # whole processes: `renovo restore` against ncnn's own
                                                    # runtime, 320x320 and 1 MP, RealSR/CUNet/UpConv7 (+RSS,
                                                    # pixel ratio of the tile planner)
    python bench/models_bench.py --process --before /tmp/before   # also another checkout's `renovo restore`,
                                                    # interleaved in the same rounds (before/after in one run)
    python bench/models_bench.py                    # RealSR x4, CUNet 2x, UpConv7 photo 2x on the CPU
    python bench/models_bench.py --threads 2 --repeats 3 --compile
    python bench/models_bench.py --seams            # tiled vs untiled PSNR per context pad (descriptors' pad)
    python bench/models_bench.py --device cuda      # fp16 autocast, MP/s and share of the GPU's peak
    python bench/models_bench.py --large            # peak RSS of a 4000×3000 `sr` run (long on a CPU)
    python bench/models_bench.py --large-dry        # the same pipeline with a nearest-×4 network (minutes)
    python bench/models_bench.py --large --large-tiles 2 --backend ncnn   # the real network's first 2 tiles
                                                    # (their peak: model, input, band, one window's activations)

Every variant runs the whole picture as one tile through services.inference.tiling (so it includes padding,
blending and the uint8 conversion) except `ncnn whole`, which is ncnn's runtime alone on the padded picture:
the reference of the ratio column. Variants are interleaved and the best of `--repeats` is kept, so a busy
machine slows all of them alike. PSNR is against ncnn's output, in 8-bit levels.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.inference.descriptor import ModelDescriptor  # noqa: E402
from services.inference.device import Precision  # noqa: E402
from services.inference.engine import RunContext  # noqa: E402
from services.inference.imageio import decode, to_planes  # noqa: E402
from services.inference.models import load_model, model_path  # noqa: E402
from services.inference.ncnn_net import NcnnNetwork  # noqa: E402
from services.inference.tiling import default_border, upscale  # noqa: E402

IMAGES = (ROOT.parent / "shared" / "images").resolve()
LARGE = IMAGES / "edge" / "large_4000x3000_smooth_noise.jpg"
# (model id, picture, input side on the CPU): sizes as in MODELS.md, small enough for 2 busy cores.
MODELS = [
    ("REALSR_DF2K_UP4X", "photo/OST_009.png", 128),
    ("WAIFU2X_CUNET_UP2X", "anime/renpy_bg_uni_320x180_q25.jpg", 176),
    ("WAIFU2X_PHOTO_UP2X", "photo/OST_009.png", 256),
]
Variant = Callable[[], np.ndarray]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def ncnn_whole(runner: NcnnNetwork, desc: ModelDescriptor, image: np.ndarray) -> np.ndarray:
    """ncnn alone on the padded picture (the same padding the tiling engine gives a picture that is one tile:
    only the `crop` pixels the network consumes)."""
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255.0
    height, width = image.shape[:2]
    m, pad = desc.size_multiple, desc.crop
    extra_h = (-(height + 2 * pad)) % m + max(0, desc.min_size - (height + 2 * pad))
    extra_w = (-(width + 2 * pad)) % m + max(0, desc.min_size - (width + 2 * pad))
    x = F.pad(x, (pad, pad + extra_w, pad, pad + extra_h), mode=default_border(desc))
    y = torch.from_numpy(runner.runner.run(x[0].numpy()))[None]  # ncnn's own whole run, not our split tail
    s = desc.scale
    y = y[0, :, : s * height, : s * width]
    return (y.clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 0).numpy()


def variants(model_id: str, image: np.ndarray, args: argparse.Namespace) -> dict[str, Variant]:
    device = torch.device(args.device)
    net, desc = load_model(model_id, str(device))
    big = max(image.shape[:2]) + 64  # one tile: compare kernels, not tiling
    ctx = RunContext(device=str(device))

    def torch_run(channels_last: bool, precision: Precision, module: torch.nn.Module = net) -> Variant:
        def run() -> np.ndarray:
            layout = torch.channels_last if channels_last else torch.contiguous_format
            net.to(memory_format=layout)  # type: ignore[call-overload]  # the stub lacks memory_format
            return upscale(
                module, desc, image, ctx, tile=big, channels_last=channels_last, precision=precision
            )

        return run

    result: dict[str, Variant] = {}
    if device.type == "cpu":
        runner = NcnnNetwork(model_path(model_id), model_id, args.threads)
        result["ncnn whole"] = lambda: ncnn_whole(runner, desc, image)
        result["torch fp32 NCHW"] = torch_run(False, "fp32")
        result["torch fp32 channels-last"] = torch_run(True, "fp32")
        if torch.ops.mkldnn._is_mkldnn_bf16_supported():
            result["torch bf16 channels-last"] = torch_run(True, "bf16")
        result["ncnn via our tiling"] = lambda: upscale(
            runner, desc, image, ctx, tile=big, channels_last=False
        )
    else:
        result["torch fp32 channels-last"] = torch_run(True, "fp32")
        result["torch fp16 autocast cl"] = torch_run(True, "fp16")
    if args.compile:
        compiled = torch.compile(net)
        result["torch.compile cl " + ("fp32" if device.type == "cpu" else "fp16")] = torch_run(
            True,
            "fp32" if device.type == "cpu" else "fp16",
            compiled,  # type: ignore[arg-type]
        )
    return result


def conv_flops_per_input_pixel(model_id: str, device: str) -> float:
    """Multiply-adds ×2 of every (de)convolution and linear layer per input pixel, counted by hooks on 64²."""
    net, desc = load_model(model_id, device)
    total = [0.0]

    def hook(module: torch.nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        if isinstance(module, torch.nn.Conv2d):  # each output element: C_in/groups·kh·kw multiply-adds
            taps = inputs[0].shape[1] // module.groups * module.kernel_size[0] * module.kernel_size[1]
            total[0] += 2.0 * output.numel() * taps
        elif isinstance(module, torch.nn.ConvTranspose2d):  # each input element scatters C_out/groups·kh·kw
            taps = output.shape[1] // module.groups * module.kernel_size[0] * module.kernel_size[1]
            total[0] += 2.0 * inputs[0].numel() * taps
        elif isinstance(module, torch.nn.Linear):
            total[0] += 2.0 * output.numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in net.modules()]
    covered = 256  # input pixels per side that the output covers; the network's own crop comes on top
    with torch.inference_mode():
        net(torch.rand(1, 3, covered + 2 * desc.crop, covered + 2 * desc.crop, device=device))
    for handle in handles:
        handle.remove()
    return total[0] / (covered * covered)


def bench_models(args: argparse.Namespace) -> None:
    torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), device {args.device}, best of {args.repeats}"
    )
    header = f"{'model':30} {'variant':28} {'input':>9} {'s/MP':>8} {'MP/s':>8} {'vs ncnn':>8} {'PSNR dB':>8}"
    # s/MP and MP/s: best round; vs ncnn: median over rounds of the time / ncnn's time in that round.
    print(header + ("" if args.device == "cpu" else f" {'% peak':>7}"))
    for model_id, picture, side in MODELS:
        side = args.size or (side if args.device == "cpu" else 1024)
        planes = to_planes(decode(IMAGES / picture))
        image = np.ascontiguousarray(planes.rgb[:side, :side])
        runs = variants(model_id, image, args)
        times: dict[str, list[float]] = {name: [] for name in runs}
        outputs: dict[str, np.ndarray] = {}
        for _ in range(args.repeats):  # interleaved: load changes hit every variant alike
            for name, run in runs.items():
                if args.device != "cpu":
                    torch.cuda.synchronize()
                start = time.perf_counter()
                outputs[name] = run()
                times[name].append(time.perf_counter() - start)
        megapixels = image.shape[0] * image.shape[1] / 1e6
        reference = times.get("ncnn whole")
        ref_out = outputs.get("ncnn whole", next(iter(outputs.values())))
        flops = conv_flops_per_input_pixel(model_id, args.device) if args.device != "cpu" else 0.0
        for name in runs:
            seconds = min(times[name])
            # Paired ratio: each round against ncnn's time in the same round, median over rounds. On a shared
            # machine this is steadier than a ratio of two best times taken minutes apart.
            paired = [t / r for t, r in zip(times[name], reference, strict=True)] if reference else []
            ratio = f"{float(np.median(paired)):8.2f}" if paired else f"{'—':>8}"
            size = f"{image.shape[1]}x{image.shape[0]}"
            line = (
                f"{model_id:30} {name:28} {size:>9} {seconds / megapixels:8.2f} "
                f"{megapixels / seconds:8.3f} {ratio} {psnr(outputs[name], ref_out):8.1f}"
            )
            if flops:
                line += f" {100 * flops * megapixels * 1e6 / seconds / (args.peak_tflops * 1e12):6.1f}%"
            print(line, flush=True)


def large_child(dry: bool, backend: str, threads: int, tiles: int = 0) -> None:
    """The measured run (in its own process): decode → `sr` x4 engine → PNG, as the worker does it."""
    torch.set_num_threads(threads)
    from services.inference.imageio import encode_png
    from services.inference.models import descriptor
    from services.inference.models.realsr.engine import RealSREngine

    loader = None
    if dry:  # the whole pipeline's memory (canvas, band, encode) without RRDBNet's compute

        class Nearest(torch.nn.Module):
            def forward(self, x: torch.Tensor) -> torch.Tensor:
                return F.interpolate(x, scale_factor=4, mode="nearest")

        def loader(model_id: str, device: str) -> tuple[torch.nn.Module, ModelDescriptor]:
            return Nearest(), descriptor(model_id)

    engine = RealSREngine(backend="ncnn" if backend == "ncnn" else "torch", loader=loader, threads=threads)
    if dry and backend == "ncnn":  # the ncnn path's own memory (numpy tiler, band, canvas) without RRDBNet

        class NearestRunner:
            def run(self, chw: np.ndarray) -> np.ndarray:
                return np.ascontiguousarray(chw.repeat(4, axis=1).repeat(4, axis=2))

        stand_in = NcnnNetwork.__new__(NcnnNetwork)
        stand_in.model_id, stand_in.tail = "REALSR_DF2K_UP4X", None
        stand_in.runner = NearestRunner()  # type: ignore[assignment]  # duck-typed NcnnRunner
        engine._ncnn["REALSR_DF2K_UP4X"] = stand_in
    if tiles:  # the real network's first tiles only: stop (cancel) once that many have reported progress
        from services.inference.engine import Cancelled

        reported = [0]

        def count(fraction: float) -> None:
            reported[0] += 1

        try:
            engine.run(decode(LARGE), "sr", {"scale": 4}, RunContext(progress=count,
                                                                     cancelled=lambda: reported[0] >= tiles))
        except Cancelled:
            pass
        print(f"stopped after {reported[0]} tiles, {engine.last_stats}")
        return
    result = engine.run(decode(LARGE), "sr", {"scale": 4}, RunContext())
    data = encode_png(result.image)
    width, height = result.image.size
    print(f"output {width}x{height}, {len(data) / 1e6:.0f} MB PNG, tiles {engine.last_stats}")


def bench_large(args: argparse.Namespace) -> None:
    command = [
        sys.executable,
        __file__,
        "--large-child",
        "--backend",
        args.backend,
        "--threads",
        str(args.threads),
    ]
    if args.large_dry:
        command.append("--dry")
    if args.large_tiles:
        command += ["--large-tiles", str(args.large_tiles)]
    start = time.perf_counter()
    with tempfile.TemporaryDirectory():
        subprocess.run(command, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # Linux: KiB, largest child
    label = "nearest-x4 stand-in (pipeline only)" if args.large_dry else f"RealSR x4, {args.backend} backend"
    if args.large_tiles:
        label += f", first {args.large_tiles} tiles only (no canvas rows, no encode)"
    print(
        f"4000x3000 sr x4, {label}: {time.perf_counter() - start:.0f} s, peak RSS {peak_kib / 2**20:.2f} GiB"
    )


NCNN_PROCESS = r"""
import sys
import ncnn
import numpy as np
from PIL import Image

param, src, dst, crop, multiple, min_size, threads, blob_in, blob_out = sys.argv[1:]
crop, multiple, min_size, threads = int(crop), int(multiple), int(min_size), int(threads)
x = np.asarray(Image.open(src).convert("RGB"), dtype=np.float32).transpose(2, 0, 1) / 255.0
h, w = x.shape[1:]
eh = -(h + 2 * crop) % multiple + max(0, min_size - (h + 2 * crop))
ew = -(w + 2 * crop) % multiple + max(0, min_size - (w + 2 * crop))
x = np.ascontiguousarray(np.pad(x, ((0, 0), (crop, crop + eh), (crop, crop + ew)), mode="edge"))
net = ncnn.Net()
net.opt.use_vulkan_compute = False
net.opt.num_threads = threads
for flag in ("use_fp16_packed", "use_fp16_storage", "use_fp16_arithmetic", "use_bf16_packed", "use_bf16_storage"):
    if hasattr(net.opt, flag):
        setattr(net.opt, flag, False)
net.load_param(param)
net.load_model(param[: -len(".param")] + ".bin")
ex = net.create_extractor()
ex.input(blob_in, ncnn.Mat(x))
_, out = ex.extract(blob_out)
y = np.array(out)
scale = y.shape[1] // (h + eh)
y = y[:, : scale * h, : scale * w]
Image.fromarray((np.clip(y, 0, 1) * 255).round().astype(np.uint8).transpose(1, 2, 0)).save(dst)
"""
"""ncnn's own runtime as a user would script it: decode, pad as its tools do (only what the network consumes),
one extract on the whole picture, encode PNG. The reference of `--process`."""

PROCESS_MODELS = [
    ("REALSR_DF2K_UP4X", "sr", ["--scale", "4"], "photo/OST_009.png"),
    ("WAIFU2X_CUNET_UP2X", "sr2d", ["--scale", "2", "--noise", "-1", "--style", "art"], "anime/renpy_lucy_happy.png"),
    ("WAIFU2X_PHOTO_UP2X", "sr2d", ["--scale", "2", "--noise", "-1", "--style", "photo"], "photo/OST_009.png"),
]


def _timed(command: list[str], env: dict[str, str], cwd: Path = ROOT) -> tuple[float, float, float]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (GiB) of one whole process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"{command[:4]}… failed: {process.stderr.read().decode()[-800:] if process.stderr else ''}")
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 2**20


PLANNED = r"""
import sys
import torch
from services.inference.device import tile_budget
from services.inference.models import descriptor
from services.inference.tiling import plan_tiles

model_id, backend, width, height = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
tile = int(sys.argv[5]) if len(sys.argv) > 5 else None
desc = descriptor(model_id)
budget, _ = tile_budget(desc, torch.device("cpu"), None, backend=backend)
rows, cols = plan_tiles(height, width, desc, max_pixels=None if tile else budget, max_side=tile)
print(f"{rows.computed * cols.computed / (width * height):.3f}")
"""
"""The tile planner's computed/actual input pixels in a checkout (this one or `--before`'s)."""


def _planned_ratio(tree: Path, model_id: str, backend: str, width: int, height: int, tile: int = 0) -> str:
    extra = [str(tile)] if tile else []
    command = [sys.executable, "-c", PLANNED, model_id, backend, str(width), str(height), *extra]
    done = subprocess.run(command, cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True,
                          text=True, check=True)
    return done.stdout.strip()


def pixel_ratios(args: argparse.Namespace) -> None:
    """Only the planner's computed/actual pixel ratios (no runs): every model, size and backend, and the
    `--before` checkout's beside them."""
    from services.inference.registry import resolve_backend

    sizes = [tuple(int(v) for v in size.split("x")) for size in args.sizes.split(",")]
    backends = [resolve_backend("auto", "cpu"), *(b for b in ("torch", "ncnn") if b != resolve_backend("auto", "cpu"))]
    from services.inference.models import descriptor

    print("pixels: the planner's computed/actual input pixels; floor: ncnn's own whole-picture run (the network's "
          "crop and size multiple)")
    before = f" {'before':>7}" if args.before else ""
    print(f"{'model':28} {'input':>9} {'backend':8} {'pixels':>7} {'floor':>6}{before}")
    for model_id, *_ in PROCESS_MODELS:
        for width, height in sizes:
            for backend in backends:
                line = f"{model_id:28} {f'{width}x{height}':>9} {backend:8} "
                desc = descriptor(model_id)
                m, c = desc.size_multiple, desc.crop
                floor = max(-(-(height + 2 * c) // m) * m, desc.min_size) * max(-(-(width + 2 * c) // m) * m,
                                                                                 desc.min_size) / (width * height)
                line += f"{_planned_ratio(ROOT, model_id, backend, width, height):>7} {floor:6.3f}"
                if args.before:
                    line += f" {_planned_ratio(Path(args.before).resolve(), model_id, backend, width, height):>7}"
                print(line, flush=True)


def bench_process(args: argparse.Namespace) -> None:
    """Whole processes, interleaved round by round: ncnn's runtime on the whole picture vs `renovo restore`."""
    from PIL import Image

    from services.inference.models import descriptor
    from services.inference.ncnn_backend import blob_names
    from services.inference.planner import host_free_bytes
    from services.inference.registry import resolve_backend

    sizes = [tuple(int(v) for v in size.split("x")) for size in args.sizes.split(",")]
    chosen = [m for m in PROCESS_MODELS if not args.models or any(k in m[0] for k in args.models.split(","))]
    auto = resolve_backend("auto", "cpu")
    backends = ["auto"] + [b for b in args.backends.split(",") if b and b != auto]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": str(args.threads)}
    print(f"whole processes, {args.threads} threads, {args.repeats} interleaved round(s); auto = {auto} here; "
          f"time and CPU (user + system) seconds: best round; vs ncnn: time / ncnn's in the same round (median); "
          f"pixels = computed/actual input pixels. CPU seconds are the steadier figure on a shared machine.")
    print(f"{'model':28} {'input':>9} {'run':44} {'time s':>8} {'vs ncnn':>8} {'CPU s':>8} {'vs ncnn':>8} "
          f"{'RSS GiB':>8} {'pixels':>7}")
    trees = {"": ROOT} | ({"before: ": Path(args.before).resolve()} if args.before else {})
    for tree in trees.values():  # bytecode as an installed package has it (PYTHONDONTWRITEBYTECODE may be set)
        subprocess.run([sys.executable, "-m", "compileall", "-q", "services", "shared"], cwd=tree, check=True,
                       stdout=subprocess.DEVNULL)
    with tempfile.TemporaryDirectory() as tmp:
        for model_id, type_name, options, picture in chosen:
            desc = descriptor(model_id)
            with Image.open(IMAGES / picture) as original:
                rgb = original.convert("RGB")
            for width, height in sizes:
                source = Path(tmp) / f"{model_id}_{width}x{height}.png"
                rgb.resize((width, height), Image.Resampling.BICUBIC).save(source)
                param = str(model_path(model_id))
                # ncnn's whole-picture run, measured: RRDBNet 54 kB per input pixel, CUNet 9.6, UpConv7 4.7.
                per_pixel = {"rrdbnet": 56_000, "upcunet": 11_000, "cunet": 11_000}.get(desc.arch, 6_000)
                need = (width + 2 * desc.crop) * (height + 2 * desc.crop) * per_pixel
                if need > 0.8 * host_free_bytes():
                    print(f"{model_id:28} {f'{width}x{height}':>9} ncnn's whole-picture run needs ~{need / 2**30:.0f} "
                          "GiB here: skipped (no reference, no ratio)", flush=True)
                    continue
                envs: dict[str, dict[str, str]] = {}
                cwds: dict[str, Path] = {}
                runs: dict[str, list[str]] = {
                    "ncnn runtime, whole": [
                        sys.executable, "-c", NCNN_PROCESS, param, str(source), str(Path(tmp) / "ref.png"),
                        str(desc.crop), str(desc.size_multiple), str(desc.min_size), str(args.threads),
                        *blob_names(model_id),
                    ],
                }
                for prefix, tree in trees.items():
                    for backend in backends:
                        label = f"{prefix}renovo --backend {backend}" + (f" ({auto})" if backend == "auto" else "")
                        runs[label] = [
                            sys.executable, "-m", "services.cli", "restore", str(source), "-o",
                            str(Path(tmp) / f"{backend}.png"), "--type", type_name, *options, "--threads",
                            str(args.threads), "--backend", backend,
                        ]
                        envs[label] = {**env, "PYTHONPATH": str(tree)}
                        cwds[label] = tree
                for tile in (int(t) for t in args.tiles.split(",") if t):  # larger or smaller windows than planned
                    label = f"renovo --tile {tile} ({auto})"
                    runs[label] = [
                        sys.executable, "-m", "services.cli", "restore", str(source), "-o",
                        str(Path(tmp) / f"tile{tile}.png"), "--type", type_name, *options, "--threads",
                        str(args.threads), "--tile", str(tile),
                    ]
                times: dict[str, list[float]] = {name: [] for name in runs}
                cpu: dict[str, list[float]] = {name: [] for name in runs}
                peaks: dict[str, float] = {}
                for _ in range(args.repeats):
                    for name, command in runs.items():
                        seconds, cpu_seconds, rss = _timed(command, envs.get(name, env), cwds.get(name, ROOT))
                        times[name].append(seconds)
                        cpu[name].append(cpu_seconds)
                        peaks[name] = max(peaks.get(name, 0.0), rss)
                reference, reference_cpu = times["ncnn runtime, whole"], cpu["ncnn runtime, whole"]
                for name in runs:
                    ratio = float(np.median([t / r for t, r in zip(times[name], reference, strict=True)]))
                    cpu_ratio = float(np.median([t / r for t, r in zip(cpu[name], reference_cpu, strict=True)]))
                    # ncnn's runtime computes the picture plus what the network consumes (crop, size multiple).
                    m, c = desc.size_multiple, desc.crop
                    padded_h = max(-(-(height + 2 * c) // m) * m, desc.min_size)
                    padded_w = max(-(-(width + 2 * c) // m) * m, desc.min_size)
                    pixels = f"{padded_h * padded_w / (width * height):.2f}"
                    if name.startswith("renovo --tile"):
                        pixels = _planned_ratio(ROOT, model_id, auto, width, height, int(name.split()[2]))
                    elif name != "ncnn runtime, whole":
                        backend = auto if "auto" in name else name.split()[-1]
                        pixels = _planned_ratio(cwds[name], model_id, backend, width, height)
                    print(f"{model_id:28} {f'{width}x{height}':>9} {name:44} {min(times[name]):8.2f} {ratio:8.2f} "
                          f"{min(cpu[name]):8.2f} {cpu_ratio:8.2f} {peaks[name]:8.2f} {pixels:>7}", flush=True)


SEAM_CASES = [
    # (model id, picture, size WxH, tile (None: the planner's choice), context pads to try)
    ("REALSR_DF2K_UP4X", "photo/OST_009.png", (320, 320), None, (10, 16, 20, 24)),
    ("REALSR_DF2K_UP4X", "photo/OST_009.png", (192, 144), 96, (10, 16, 20, 24)),
    ("WAIFU2X_CUNET_UP2X", "anime/renpy_lucy_happy.png", (1000, 1000), None, (18, 24)),
    ("WAIFU2X_CUNET_UP2X", "anime/renpy_bg_uni_320x180_q25.jpg", (320, 180), 96, (18, 24, 32)),
    ("WAIFU2X_PHOTO_UP2X", "photo/OST_009.png", (320, 240), 96, (7, 10)),
]
SEAM_BAND = 16
"""Input pixels across the band a seam is judged on (its output is `scale` times that)."""


def worst_band_psnr(a: np.ndarray, b: np.ndarray, band: int) -> float:
    """PSNR of the worst horizontal or vertical band `band` output pixels wide (bands every half band): a seam's
    error, undiluted by the rest of the picture."""
    error = (a.astype(np.float64) - b.astype(np.float64)) ** 2
    rows = [error[y : y + band].mean() for y in range(0, error.shape[0] - band + 1, band // 2)]
    cols = [error[:, x : x + band].mean() for x in range(0, error.shape[1] - band + 1, band // 2)]
    worst = max(rows + cols)
    return float("inf") if worst == 0 else 10 * np.log10(255.0**2 / worst)


def bench_seams(args: argparse.Namespace) -> None:
    """How much context each model's tile seams need: tiled (ncnn backend, the planner's tiles or a fixed tile
    size) against one untiled run, PSNR over the whole picture and over the worst seam band, per context pad.
    The descriptors' `pad` is the smallest that keeps the seam band at 50 dB or more."""
    import dataclasses

    from PIL import Image

    from services.inference.models import descriptor
    from services.inference.ncnn_net import upscale_numpy
    from services.inference.planner import TileStats

    print(f"seams: tiled vs untiled (ncnn backend, {args.threads} threads); band = worst {SEAM_BAND}-input-pixel "
          "band; pixels = computed/actual input pixels")
    print(f"{'model':28} {'picture':36} {'input':>9} {'tile':>7} {'pad':>4} {'tiles':>5} {'pixels':>6} "
          f"{'PSNR':>6} {'band':>6}")
    for model_id, picture, (width, height), tile, pads in SEAM_CASES:
        if args.models and not any(k in model_id for k in args.models.split(",")):
            continue
        with Image.open(IMAGES / picture) as original:
            image = np.ascontiguousarray(np.asarray(original.convert("RGB").resize((width, height),
                                                                                    Image.Resampling.BICUBIC)))
        net, desc = NcnnNetwork(model_path(model_id), model_id, args.threads), descriptor(model_id)
        whole = upscale_numpy(net, desc, image, RunContext(), tile=max(width, height) + 64)
        for pad in pads:
            stats = TileStats()
            tiled = upscale_numpy(net, dataclasses.replace(desc, pad=pad), image, RunContext(), tile=tile,
                                  stats=stats)
            mark = "*" if pad == desc.pad else " "
            print(f"{model_id:28} {picture:36} {f'{width}x{height}':>9} {tile or 'planner':>7} {pad:>3}{mark} "
                  f"{stats.tiles:5d} {stats.pixel_ratio:6.3f} {psnr(tiled, whole):6.1f} "
                  f"{worst_band_psnr(tiled, whole, SEAM_BAND * desc.scale):6.1f}", flush=True)
    print("* the descriptor's pad")


def bench_gpu(args: argparse.Namespace) -> None:
    """CUDA: RealSR x4 and CUNet 2x on a 1.5 MP picture, input MP/s: the tile planner's choice (fp16 autocast
    where the descriptor allows it, channels-last, batched tiles) against fp32 and one whole tile, and the
    worker's compute path (decode → engine → encode) with a warm engine."""
    import io

    from PIL import Image

    from services.inference.device import tile_budget
    from services.inference.processing import process
    from services.inference.registry import Registry
    from services.inference.tiling import TileStats

    device = torch.device(args.device)
    cuda = device.type == "cuda"  # the CPU only smoke-tests this function

    def sync() -> None:
        if cuda:
            torch.cuda.synchronize(device)

    name = torch.cuda.get_device_properties(device).name if cuda else "CPU (smoke test)"
    memory = torch.cuda.get_device_properties(device).total_memory / 2**30 if cuda else 0.0
    print(f"torch {torch.__version__}, CUDA {torch.version.cuda}, {name}, {memory:.0f} GiB")
    width, height = (int(v) for v in args.gpu_size.split("x"))
    rng = np.random.default_rng(0)
    small = rng.integers(0, 256, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    image = np.ascontiguousarray(
        np.asarray(Image.fromarray(small).resize((width, height), Image.Resampling.BICUBIC))
    )  # smooth noise: the timing does not depend on content
    megapixels = width * height / 1e6
    print(f"input {width}x{height} ({megapixels:.2f} MP), best of {args.repeats} after a warm-up")
    print(f"{'model':22} {'variant':34} {'s':>7} {'MP/s':>7} {'tiles':>6} {'batch':>5} {'window':>10} "
          f"{'pixels':>6} {'GPU GiB':>7} {'PSNR':>6}")
    for model_id in ("REALSR_DF2K_UP4X", "WAIFU2X_CUNET_UP2X"):
        net, desc = load_model(model_id, str(device))
        ctx = RunContext(device=str(device))
        pixels, batch = tile_budget(desc, device, torch.float16)
        whole = max(width, height)
        variants: dict[str, tuple[Precision, int | None]] = {
            "planner, fp32, cl, batched": ("fp32", None),
            "planner, fp16 autocast, cl, batched": ("fp16", None),
            "one whole tile, fp16 autocast, cl": ("fp16", whole),
        }
        outputs: dict[str, np.ndarray] = {}
        for name, (precision, tile) in variants.items():
            best, stats = float("inf"), TileStats()

            try:
                upscale(net, desc, image, ctx, precision=precision, tile=tile)  # warm-up: cuDNN autotuning
                sync()
                if cuda:
                    torch.cuda.reset_peak_memory_stats(device)
                for _ in range(args.repeats):
                    stats = TileStats()
                    start = time.perf_counter()
                    outputs[name] = upscale(net, desc, image, ctx, stats=stats, precision=precision, tile=tile)
                    sync()
                    best = min(best, time.perf_counter() - start)
            except Exception as exc:  # report and go on: the other variants still tell something
                print(f"{model_id:22} {name:34} failed: {type(exc).__name__}: {str(exc)[:200]}", flush=True)
                continue
            peak = torch.cuda.max_memory_allocated(device) / 2**30 if cuda else 0.0
            ref = outputs.get("planner, fp32, cl, batched")  # cuDNN's default (TF32 convolutions on Hopper)
            quality = f"{psnr(outputs[name], ref):6.1f}" if ref is not None else f"{'—':>6}"
            print(f"{model_id:22} {name:34} {best:7.3f} {megapixels / best:7.2f} {stats.tiles:6d} {stats.batch:5d} "
                  f"{f'{stats.window[0]}x{stats.window[1]}':>10} {stats.pixel_ratio:6.2f} {peak:7.1f} {quality}",
                  flush=True)
        print(f"{'':22} (budget: {pixels} input pixels per window, batch {batch})")
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    data = buffer.getvalue()
    for type_name, family, options in (("sr2d", "waifu2x", {"scale": 2, "noise": -1, "style": "art"}),
                                       ("sr", "realsr", {"scale": 4})):
        engine = Registry(families=(family,), backend="torch").engine(family)
        times = []
        for _ in range(args.repeats + 1):
            start = time.perf_counter()
            done = process(engine, data, type_name, options, lambda f: None, lambda: False, device=str(device))
            sync()
            times.append(time.perf_counter() - start)
        print(f"worker compute path, warm engine: {type_name} {options} on {width}x{height} PNG: "
              f"{min(times[1:]):.2f} s (first {times[0]:.2f} s; output {done.width}x{done.height} {done.format})",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--size", type=int, help="input side for every model (default per model)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compile", action="store_true", help="add torch.compile variants (slow to compile)")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="dense fp16 peak (H100 SXM: 989)")
    parser.add_argument("--large", action="store_true", help="peak RSS of a real 4000x3000 sr run")
    parser.add_argument("--large-dry", action="store_true", help="the same with a nearest-x4 stand-in")
    parser.add_argument("--backend", choices=("torch", "ncnn"), default="torch", help="backend of --large")
    parser.add_argument("--process", action="store_true", help="whole processes: renovo restore vs ncnn runtime")
    parser.add_argument("--sizes", default="320x320,1000x1000", help="--process: input sizes, WxH,…")
    parser.add_argument("--models", default="", help="--process: substrings of model ids (default all three)")
    parser.add_argument("--backends", default="torch,ncnn", help="--process: backends besides auto")
    parser.add_argument("--tiles", default="", help="--process: also `renovo --tile N` runs, N,… (window trade-offs)")
    parser.add_argument("--before", help="--process, --pixels: another checkout to run beside this one")
    parser.add_argument("--pixels", action="store_true", help="only the planner's pixel ratios (no runs)")
    parser.add_argument("--seams", action="store_true", help="seam PSNR per context pad (how descriptors' pad is set)")
    parser.add_argument("--gpu", action="store_true", help="CUDA: RealSR/CUNet input MP/s, planner's choice")
    parser.add_argument("--gpu-size", default="1500x1000", help="--gpu: input size WxH (1.5 MP)")
    parser.add_argument("--large-tiles", type=int, default=0, help="--large: stop after this many tiles")
    parser.add_argument("--large-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--dry", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.pixels:
        pixel_ratios(args)
    elif args.seams:
        bench_seams(args)
    elif args.process:
        bench_process(args)
    elif args.gpu:
        bench_gpu(args)
    elif args.large_child:
        large_child(args.dry, args.backend, args.threads, args.large_tiles)
    elif args.large or args.large_dry:
        bench_large(args)
    else:
        bench_models(args)


if __name__ == "__main__":
    main()
