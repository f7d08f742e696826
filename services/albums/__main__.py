from PIL import Image

from shared.logging import configure_logging
from shared.service import run

from .app import create_app
from .settings import Settings


def main() -> None:
    """Run the albums service until SIGINT/SIGTERM."""
    settings = Settings()
    configure_logging(settings.common, "albums")
    # Pillow's own guard, process-wide (set here, not on import, so that other code sharing a test process
    # keeps Pillow's default): over max_pixels it warns, over twice that Image.open refuses. images.process
    # refuses anything over max_pixels by the header's size in any case.
    Image.MAX_IMAGE_PIXELS = settings.max_pixels
    run(create_app(settings), settings.host, settings.port)


if __name__ == "__main__":
    main()
