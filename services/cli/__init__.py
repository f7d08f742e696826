"""The `renovo` command: the platform's jobs on local files (`renovo restore`, no service needed) and the
operator commands (`renovo admin`, through the jobs service's entry point). A platform-level package: it calls
each service's public entry points, never another service's insides."""

from .main import main

__all__ = ["main"]
