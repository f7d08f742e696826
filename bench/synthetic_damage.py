"""Moved: the synthetic damage lives with the engine, services/inference/models/oldphoto/synthetic.py (the
scratch detector's training uses it, and production code must not import bench/). Re-exported here for
scripts that still import it from bench."""

from services.inference.models.oldphoto.synthetic import (  # noqa: F401
    PHOTO_DIR,
    REPO_ROOT,
    Damaged,
    DamageSpec,
    add_scratches,
    clean_photos,
    damage,
    load_clean,
)
