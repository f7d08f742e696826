#!/usr/bin/env bash
# The CUDA check of issue 17, in one short run on a GPU machine (< 6 minutes): environment, the CUDA-path
# tests, then the CUDA benchmark (RealSR x4 and CUNet 2x, input MP/s on a 1.5 MP picture: fp16 autocast,
# channels-last, batched tiles as the tile planner chooses; the worker's compute path with a warm engine).
# Everything it prints also goes to $OUT (gpu_env.txt, gpu_tests.txt, gpu_bench.txt).
#
# On the lent GPU machine (bare, no network; its python3 has a CUDA torch), from the repository root:
#   1. here, once:  bench/gpu_check.sh --prepare      (fills the git-ignored .gpu/: the two models' ncnn files
#                                                       and py3.12 wheels of what that machine's image lacks)
#   2. device run:  command "bash bench/gpu_check.sh", carry [".gpu"], timeout_s 420
# Elsewhere (a CUDA machine with this repository's .venv) plain `bench/gpu_check.sh` works too.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT="${OUT:-bench-out/gpu}"
mkdir -p "$OUT"

if [ "${1:-}" = "--prepare" ]; then
    site=.venv/lib/python3.11/site-packages
    for pkg in realsr:REALSR_DF2K_UP4X waifu2x:WAIFU2X_CUNET_UP2X; do
        mkdir -p ".gpu/site/sr_vulkan_model_${pkg%%:*}/models"
        touch ".gpu/site/sr_vulkan_model_${pkg%%:*}/__init__.py"
        cp "$site/sr_vulkan_model_${pkg%%:*}/models/${pkg##*:}".{param,bin} ".gpu/site/sr_vulkan_model_${pkg%%:*}/models/"
    done
    versions=$(.venv/bin/pip list --format=freeze 2>/dev/null | grep -iE \
        '^(pydantic|pydantic_core|pydantic-settings|structlog|asyncpg|aio-pika|aiormq|pamqp|python-dotenv|typing-inspection|annotated-types|pytest-asyncio)==')
    # shellcheck disable=SC2086
    .venv/bin/pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
        --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d .gpu/whl $versions
    grep -qx '/.gpu/' .git/info/exclude || echo '/.gpu/' >> .git/info/exclude
    du -sh .gpu
    exit 0
fi

PY=python3
[ -x .venv/bin/python ] && .venv/bin/python -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' \
    2>/dev/null && PY=.venv/bin/python
{
    date -u
    nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv || nvidia-smi
    $PY -c 'import torch, sys; print(sys.version.split()[0], "torch", torch.__version__, "CUDA", torch.version.cuda,
"available", torch.cuda.is_available(), "devices", torch.cuda.device_count())'
} 2>&1 | tee "$OUT/gpu_env.txt"
$PY -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' || {
    echo "torch sees no CUDA device here: install a CUDA build (pip install torch==2.13.0) and rerun" | tee -a "$OUT/gpu_env.txt"
    exit 1
}

if [ -d .gpu/whl ] && [ "$PY" = python3 ]; then  # the GPU image lacks these; the wheels travel in .gpu/
    $PY -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .gpu/whl/*.whl \
        2>&1 | tail -2
    export PYTHONPATH="/tmp/site${PYTHONPATH:+:$PYTHONPATH}"
fi
[ -d .gpu/site ] && export PYTHONPATH=".gpu/site${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1

# 1. The CUDA-path tests: monkeypatched ones (test_cuda_paths), the real-GPU ones (test_cuda_device), the
#    planner and the tiler. --noconftest: the platform fixtures (PostgreSQL, RabbitMQ, ../shared/images) are
#    not on that machine and these tests need none of them.
timeout 150 $PY -m pytest -q -p no:cacheprovider --noconftest -o addopts="--import-mode=importlib" \
    tests/inference/test_cuda_device.py tests/inference/test_cuda_paths.py tests/inference/test_planner.py \
    tests/inference/test_tiling.py 2>&1 | tee "$OUT/gpu_tests.txt" | tail -25

# 2. The benchmark.
timeout 240 $PY bench/models_bench.py --gpu --device cuda --repeats 3 2>&1 | tee "$OUT/gpu_bench.txt"
echo "done $(date -u)" | tee -a "$OUT/gpu_bench.txt"
