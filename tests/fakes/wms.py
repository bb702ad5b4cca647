"""``python -m tests.fakes.wms --port N [--token T] [--seed FILE] [--state FILE]``."""

from tests.fakes.server import main

if __name__ == "__main__":
    main(kind="wms")
