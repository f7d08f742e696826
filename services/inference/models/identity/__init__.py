"""The `none` family: the picture as decoded, no network."""

from .engine import IdentityEngine

__all__ = ["IdentityEngine"]
