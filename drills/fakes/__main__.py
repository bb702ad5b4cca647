"""``python -m drills.fakes --kind erp|wms --port N [--token T] [--seed FILE] [--state FILE]``."""

from drills.fakes.server import main

main()
