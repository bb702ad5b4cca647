"""``python -m tests.fakes --kind erp|wms --port N [--token T] [--seed FILE] [--state FILE]``."""

from tests.fakes.server import main

main()
