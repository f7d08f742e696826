from shared.logging import configure_logging
from shared.service import run

from .app import create_app
from .settings import Settings


def main() -> None:
    settings = Settings()
    configure_logging(settings.common, "jobs")
    run(create_app(settings), settings.host, settings.port)


if __name__ == "__main__":
    main()
