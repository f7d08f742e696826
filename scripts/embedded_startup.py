"""Start-up times of `make run`'s private PostgreSQL and RabbitMQ: cold (a new data folder: initdb, a new
RabbitMQ node) and warm (the same folder again), each until it answers. Run where nothing answers on 5432 and
5672, e.g. in a private network namespace:

    unshare -n sh -c 'ip link set lo up; .venv/bin/python scripts/embedded_startup.py --rounds 2'
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.launcher.backing import resolve  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    times: dict[str, list[float]] = {}
    for _ in range(args.rounds):
        data = Path(tempfile.mkdtemp(prefix="renovo-startup-"))
        data.chmod(0o755)  # PostgreSQL may run as another user
        try:
            for phase in ("cold", "warm"):
                backing = resolve({}, data, say=lambda line: None)
                if not backing.timings:
                    sys.exit("PostgreSQL and RabbitMQ answer on the default ports here: nothing to measure")
                backing.stop()
                for name, seconds in backing.timings.items():
                    times.setdefault(f"{name} {phase}", []).append(seconds)
        finally:
            shutil.rmtree(data, ignore_errors=True)
    for key, values in sorted(times.items()):
        print(f"{key:<16} median {statistics.median(values):5.1f} s  (min {min(values):.1f}, max {max(values):.1f}, "
              f"n={len(values)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
