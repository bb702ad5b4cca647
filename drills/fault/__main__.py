"""``python -m drills.fault [options]``: the fault drill without manage.py (``--help``).

``manage.py fault_drill`` runs it in a process of its own. Like manage.py, it
sets Django up before anything imports a model: for the database of the
drill's own PostgreSQL cluster, whose port the stack chooses before it starts.
"""

import contextlib
import signal
import sys
from pathlib import Path

from drills.fault.options import PROG, parse_options
from drills.fault.stack import FaultStack, configure_django

# SIGTERM unwinds like Ctrl-C, so the stack is always stopped.
signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
options = parse_options(sys.argv[1:])
stack = FaultStack(options, Path(options.out))
try:
    configure_django(stack)
except BaseException:
    stack.stop()  # its temporary folders
    raise

from drills.fault.run import run  # noqa: E402  (it imports models: after django.setup())

with contextlib.suppress(KeyboardInterrupt):
    report = run(options, stack, " ".join([PROG, *sys.argv[1:]]))
    sys.exit(0 if report["pass"] else 1)
