"""``make run``: the Procfile's processes in one terminal; Ctrl-C stops them warmly.

``python -m mes.runner [Procfile]``. honcho parses the Procfile, starts each
process in a session of its own and prefixes its lines; this runner drives it
instead of ``honcho start`` for what that lacks:

- **A warm stop.** Ctrl-C (SIGINT), SIGTERM or SIGHUP sends SIGTERM to each
  process itself, never to its process group: gunicorn's master then stops
  its workers gracefully and the Celery worker finishes the tasks it is
  running (warm shutdown). ``honcho start`` signals the whole group, which
  hits gunicorn's workers and Celery's pool children directly: they report it
  as ERROR lines, Celery starts new pool children, and honcho kills the worker
  after 5 seconds. A process still running ``MES_STOP_TIMEOUT`` seconds (30)
  after the stop, or every process at a second Ctrl-C, gets SIGKILL with its
  group.
- **A clean exit.** The status is 0 when the stop was asked for and every
  process ended cleanly (status 0, or ended by the SIGTERM it was sent); 1
  when one had to be killed or failed; a process's own status when it ended
  by itself (the others are then stopped).
- **The terminal.** In a terminal the runner takes the foreground, so that
  Ctrl-C reaches it and not ``make``, which would end by the signal with
  ``make: *** [run] Interrupt`` or ``Error 130``; it hands the terminal back
  when it ends. Ctrl-Z is ignored (stopping the runner would leave the shell
  waiting on ``make``).
- **One clock.** The prefix time is UTC (``12:34:56Z``), as in the JSON log
  lines.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from honcho.colour import get_colours
from honcho.environ import parse_procfile
from honcho.printer import Message, Printer
from honcho.process import Process

SYSTEM = "system"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# A process that ended by the SIGTERM it was sent stopped cleanly (a fake ERP has no handler).
CLEAN_STOP_STATUSES = {0, -signal.SIGTERM, 128 + signal.SIGTERM}


class UtcPrinter(Printer):
    """honcho's printer with the prefix time in UTC, like the JSON log lines."""

    def __init__(self, output=sys.stdout) -> None:
        super().__init__(output, time_format="%H:%M:%SZ")

    def write(self, message: Message) -> None:
        # honcho stamps messages with the local wall clock (a naive datetime).
        super().write(message._replace(time=message.time.astimezone(UTC)))


class Runner:
    """Starts the processes, relays their output, stops them all when asked or when one ends."""

    def __init__(self, commands: dict[str, str], *, printer: Printer, stop_timeout: float) -> None:
        self.printer = printer
        self.printer.width = max(len(SYSTEM), *(len(name) for name in commands))
        self.stop_timeout = stop_timeout
        self.events: queue.Queue[Message] = queue.Queue()
        colours = get_colours()
        self.processes = {
            name: Process(command, name=name, colour=next(colours))
            for name, command in commands.items()
        }
        self.pids: dict[str, int] = {}
        self.statuses: dict[str, int] = {}
        self.signals_received = 0  # counted by the signal handler, acted on by the loop
        self.stopping = False
        self.stop_asked = False  # by a signal, rather than by a process that ended
        self.deadline: float | None = None
        self.killed = False
        self.first_to_end: str | None = None

    def on_signal(self, _signum, _frame) -> None:
        # Only count: printing here could break a print the main thread is in.
        self.signals_received += 1

    def run(self) -> int:
        for name, process in self.processes.items():
            threading.Thread(
                target=process.run, args=(self.events,), name=name, daemon=True
            ).start()
        handled = 0
        while len(self.statuses) < len(self.processes):
            with contextlib.suppress(queue.Empty):
                self.handle(self.events.get(timeout=0.1))
            if self.signals_received > handled:
                handled = self.signals_received
                self.signal_received()
            if self.deadline is not None and time.monotonic() > self.deadline:
                self.kill()
        while not self.events.empty():  # the last lines of the last process
            self.handle(self.events.get())
        return self.exit_status()

    def handle(self, message: Message) -> None:
        if message.type == "line":
            self.printer.write(message)
        elif message.type == "start":
            self.pids[message.name] = message.data["pid"]
            self.say(f"{message.name} started (pid {message.data['pid']})")
            if self.stopping:  # it started while the others stop
                self.terminate(message.name)
        elif message.type == "stop":
            status = message.data["returncode"]
            self.statuses[message.name] = status
            self.say(f"{message.name} stopped (status {status})")
            if not self.stopping:
                self.first_to_end = message.name
                self.stop()

    def signal_received(self) -> None:
        if self.stopping:
            self.say("stopping now")
            self.kill()
        else:
            self.stop_asked = True
            self.say(f"stopping (Ctrl-C again to kill; killed after {self.stop_timeout:g} s)")
            self.stop()

    def stop(self) -> None:
        self.stopping = True
        self.deadline = time.monotonic() + self.stop_timeout
        for name in self.processes:
            self.terminate(name)

    def terminate(self, name: str) -> None:
        pid = self.pids.get(name)
        if pid is None or name in self.statuses:
            return
        self.say(f"sending SIGTERM to {name} (pid {pid})")
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)

    def kill(self) -> None:
        self.deadline = None
        for name, pid in self.pids.items():
            if name in self.statuses:
                continue
            self.killed = True
            self.say(f"sending SIGKILL to {name} (pid {pid}) and its process group")
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)

    def exit_status(self) -> int:
        if self.killed:
            return 1
        if self.stop_asked:
            clean = all(status in CLEAN_STOP_STATUSES for status in self.statuses.values())
            return 0 if clean else 1
        status = self.statuses.get(self.first_to_end or "", 1)
        return status if status > 0 else 1

    def say(self, text: str) -> None:
        self.printer.write(Message(type="line", data=text, time=_now(), name=SYSTEM, colour=None))


def _now() -> datetime:
    return datetime.now()  # local and naive, like honcho's own messages; the printer converts


@contextlib.contextmanager
def foreground_terminal() -> Iterator[bool]:
    """While it runs, this process group is the terminal's foreground (see the module doc).

    Yields whether it is: not when stdin is no terminal, when the runner was
    started in the background, or when it cannot have a group of its own.
    """
    try:
        terminal = sys.stdin.fileno()
        owner = os.tcgetpgrp(terminal) if os.isatty(terminal) else None
    except (OSError, ValueError):
        owner = None
    if owner is None or owner != os.getpgrp():
        yield False
        return
    previous_ttou = signal.signal(signal.SIGTTOU, signal.SIG_IGN)
    try:
        os.setpgid(0, 0)
        os.tcsetpgrp(terminal, os.getpgrp())
    except OSError:
        signal.signal(signal.SIGTTOU, previous_ttou)
        yield False
        return
    previous_tstp = signal.signal(signal.SIGTSTP, signal.SIG_IGN)
    try:
        yield True
    finally:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(terminal, owner)
        signal.signal(signal.SIGTSTP, previous_tstp)
        signal.signal(signal.SIGTTOU, previous_ttou)


def commands_of(procfile: Path) -> dict[str, str]:
    """The Procfile's processes, each run as ``sh -c "exec <command>"``.

    ``exec`` makes the process itself the shell's pid, so that the stop's
    SIGTERM reaches it rather than a shell that would not pass it on.
    """
    processes = parse_procfile(procfile.read_text()).processes
    return {
        name: command if command.startswith("exec ") else f"exec {command}"
        for name, command in processes.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mes.runner", description=__doc__.splitlines()[0]
    )
    parser.add_argument("procfile", nargs="?", default="Procfile", type=Path)
    args = parser.parse_args(argv)
    runner = Runner(
        commands_of(args.procfile),
        printer=UtcPrinter(),
        stop_timeout=float(os.environ.get("MES_STOP_TIMEOUT", "30")),
    )
    with foreground_terminal():
        previous = {signum: signal.signal(signum, runner.on_signal) for signum in STOP_SIGNALS}
        try:
            return runner.run()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)


if __name__ == "__main__":
    sys.exit(main())
