"""``python -m drills.fakes.erp --port N [--token T] [--seed FILE] [--state FILE]``."""

from drills.fakes.server import main

if __name__ == "__main__":
    main(kind="erp")
