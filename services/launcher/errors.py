"""What the person starting the platform must fix."""

from __future__ import annotations


class LaunchError(Exception):
    """Something the person starting the platform must fix; the message says what."""
