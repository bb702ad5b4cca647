"""``python -m drills.load [options]``: the load drill without manage.py (``--help``).

``manage.py drill`` runs it in a process of its own. Like manage.py, it sets
Django up before anything imports a model: for the drill's own database, which
the options name (nothing connects to it before the run has recreated it).
"""

import contextlib
import signal
import sys

from drills.database import setup_django
from drills.load.options import PROG, parse_options, server_args

# SIGTERM unwinds like Ctrl-C, so the stack is always stopped.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
options = parse_options(sys.argv[1:])
setup_django(server_args(options))

from drills.load.run import run  # noqa: E402  (it imports models: after django.setup())

with contextlib.suppress(KeyboardInterrupt):
    report = run(options, " ".join([PROG, *sys.argv[1:]]))
    sys.exit(0 if report["verdict"]["pass"] else 1)
