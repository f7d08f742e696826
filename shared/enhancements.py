"""The enhancement types of DESIGN.md and their options, defined once.

The jobs service validates requests with this table and lists it at `GET /api/models`; the inference worker
routes on `family`. Nothing here imports torch: it is read by light services too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class OptionError(ValueError):
    """A job's options do not fit its enhancement type."""


@dataclass(frozen=True)
class Option:
    """One option of an enhancement type: its allowed values and the default used when it is left out."""

    name: str
    choices: tuple[Any, ...]
    default: Any
    label: str
    # Only meaningful when another option has one of these values, e.g. noise only for style=art... (unused
    # today, kept so the web app can hide options that do not apply).
    description: str = ""

    def validate(self, value: Any) -> Any:
        # bool is an int in Python; refuse True for an integer option and 1 for a boolean one.
        for choice in self.choices:
            if type(choice) is type(value) and choice == value:
                return value
        raise OptionError(f"option {self.name!r} must be one of {list(self.choices)}, got {value!r}")

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "choices": list(self.choices),
            "default": self.default,
            "description": self.description,
        }


@dataclass(frozen=True)
class EnhancementType:
    """A user-facing enhancement type and the engine family (routing key suffix) that runs it."""

    name: str
    family: str
    label: str
    description: str
    options: tuple[Option, ...] = field(default_factory=tuple)

    def validate_options(self, options: dict[str, Any] | None) -> dict[str, Any]:
        """Return the options with defaults filled in; raise OptionError on unknown names or bad values."""
        options = dict(options or {})
        known = {o.name for o in self.options}
        unknown = sorted(set(options) - known)
        if unknown:
            raise OptionError(f"unknown option(s) for type {self.name!r}: {', '.join(unknown)}")
        return {o.name: o.validate(options[o.name]) if o.name in options else o.default for o in self.options}


FACE_ENHANCE = Option(
    "face_enhance", (False, True), False, "Enhance faces", "detect faces and restore them separately"
)

TYPES: dict[str, EnhancementType] = {
    t.name: t
    for t in (
        EnhancementType("none", "none", "None", "Decode, apply the EXIF orientation and re-encode as PNG."),
        EnhancementType(
            "sr",
            "realsr",
            "SR",
            "Photo super-resolution (RealSR DF2K).",
            (Option("scale", (2, 3, 4), 4, "Scale"),),
        ),
        EnhancementType(
            "restore",
            "bopb",
            "Restoration w/o scratches",
            "Old-photo restoration: noise, blur, fading.",
            (FACE_ENHANCE,),
        ),
        EnhancementType(
            "restore_scratch",
            "bopb",
            "Restoration w/ scratches",
            "Old-photo restoration with scratch detection and removal.",
            (FACE_ENHANCE,),
        ),
        EnhancementType(
            "sr2d",
            "waifu2x",
            "2D SR",
            "Upscaling and denoising of 2D and anime art (Waifu2x).",
            (
                Option("noise", (-1, 0, 1, 2, 3), 1, "Noise level", "-1 keeps the noise"),
                Option("scale", (1, 2, 4), 2, "Scale"),
                Option("style", ("art", "photo"), "art", "Style"),
            ),
        ),
    )
}

FAMILIES: tuple[str, ...] = tuple(sorted({t.family for t in TYPES.values()}))


def get_type(name: str) -> EnhancementType:
    try:
        return TYPES[name]
    except KeyError:
        raise OptionError(f"unknown type {name!r}; expected one of {', '.join(TYPES)}") from None
