"""What a job request may say about its result beyond the type: the output format, and the batch it belongs to.

`output` `{format: auto|png|webp|jpeg, quality 1…100, flatten}`: `auto` is resolved by the worker (PNG for an
original that is lossless or has alpha, else JPEG at quality 95). JPEG cannot hold alpha: a JPEG request for an
original with an alpha channel is refused unless `flatten: true` asks to lay it on white.

`batch` `{id, size}`: jobs requested together (a whole album, several types at once) share a client-made id;
the owner gets one e-mail when all `size` of them have ended.
"""

from __future__ import annotations

import io
import uuid
from dataclasses import dataclass
from typing import Any

from PIL import Image

from shared.http import ApiError

FORMATS = ("auto", "png", "webp", "jpeg")
EXTENSIONS = {"png": "png", "webp": "webp", "jpeg": "jpg"}
CONTENT_TYPES = {"png": "image/png", "webp": "image/webp", "jpg": "image/jpeg", "jpeg": "image/jpeg"}
MAX_BATCH = 10_000


def parse_output(value: Any) -> dict[str, Any]:
    """The validated output spec with defaults (`{"format": "auto"}` when absent); 422 on anything else."""
    if value is None:
        return {"format": "auto"}
    if not isinstance(value, dict):
        raise ApiError(422, "invalid_output", "output must be an object {format, quality?, flatten?}")
    unknown = sorted(set(value) - {"format", "quality", "flatten"})
    if unknown:
        raise ApiError(422, "invalid_output", f"unknown output field(s): {', '.join(unknown)}")
    fmt = value.get("format", "auto")
    if fmt == "jpg":
        fmt = "jpeg"
    if fmt not in FORMATS:
        raise ApiError(422, "invalid_output", f"output.format must be one of {', '.join(FORMATS)}")
    spec: dict[str, Any] = {"format": fmt}
    quality = value.get("quality")
    if quality is not None:
        if isinstance(quality, bool) or not isinstance(quality, int) or not 1 <= quality <= 100:
            raise ApiError(422, "invalid_output", "output.quality must be an integer from 1 to 100")
        spec["quality"] = quality
    flatten = value.get("flatten", False)
    if not isinstance(flatten, bool):
        raise ApiError(422, "invalid_output", "output.flatten must be true or false")
    if flatten:
        spec["flatten"] = True
    return spec


@dataclass(frozen=True)
class Batch:
    id: uuid.UUID
    size: int


def parse_batch(value: Any) -> Batch | None:
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"id", "size"}:
        raise ApiError(422, "invalid_batch", "batch must be an object {id, size}")
    try:
        batch_id = uuid.UUID(str(value.get("id")))
    except ValueError:
        raise ApiError(422, "invalid_batch", "batch.id must be a UUID") from None
    size = value.get("size", 1)
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= MAX_BATCH:
        raise ApiError(422, "invalid_batch", f"batch.size must be an integer from 1 to {MAX_BATCH}")
    return Batch(batch_id, size)


def has_alpha(data: bytes) -> bool:
    """Whether the picture's mode carries alpha (read from its header, the pixels are not decoded)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
                image.mode == "P" and "transparency" in image.info
            ) or (image.mode == "L" and "transparency" in image.info)
    except Exception:  # not decodable here: the worker will say why
        return False


def refuse_jpeg_alpha() -> ApiError:
    return ApiError(
        422, "alpha_not_supported",
        "this image has transparency, which JPEG cannot hold: choose png, webp or auto, "
        "or ask for output.flatten: true to lay it on white",
    )


def result_key(user_id: uuid.UUID, job_id: uuid.UUID, spec: dict[str, Any]) -> str:
    """Where the result goes; for `auto` the worker replaces the extension with the one it wrote."""
    return f"results/{user_id}/{job_id}.{EXTENSIONS.get(spec['format'], 'png')}"


def content_type_of(key: str) -> str:
    return CONTENT_TYPES.get(key.rsplit(".", 1)[-1].lower(), "image/png")


def download_name(source_name: str | None, type_name: str, key: str) -> str:
    """`<original stem>_<type>.<ext>`; characters that would break the header are replaced."""
    stem = (source_name or "image").rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem.lstrip(".") else stem
    stem = "".join(c if c.isprintable() and c not in '"\\;' else "_" for c in stem).strip() or "image"
    return f"{stem[:150]}_{type_name}.{key.rsplit('.', 1)[-1]}"


def content_disposition(name: str) -> str:
    """An attachment header with an ASCII fallback and the exact UTF-8 name (RFC 6266 / 5987)."""
    from urllib.parse import quote

    ascii_name = name.encode("ascii", "replace").decode().replace("?", "_")
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name, safe='')}"
