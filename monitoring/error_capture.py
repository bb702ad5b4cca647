"""Notice unexpected errors and aborted transactions where they happen.

A request (``RequestMetricsMiddleware``) or a Celery task (signals wired in
``monitoring.watchdog.connect``) opens a capture; a log record carrying
``error_code`` ``SYS-001`` or ``SYS-004`` (what ``mes.errors`` logs) notes
the code, and so does a 500 answer or a failed task. When the request or task
ends, each code noted is recorded once with its place and request id
(``monitoring.services.error_groups``), outside the request's transaction.
Recording never breaks the request: a failure is logged and dropped.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar, Token
from dataclasses import dataclass, field

from mes.errors import SYS_INTERNAL, SYS_LOCK_CONFLICT, ApplicationError, is_lock_conflict
from monitoring.services.error_groups import error_occurrence_record

logger = logging.getLogger("monitoring.error_capture")

WATCHED_CODES = frozenset({SYS_INTERNAL.code, SYS_LOCK_CONFLICT.code})


@dataclass
class Capture:
    place: str = ""
    codes: list[str] = field(default_factory=list)

    def note(self, code: str) -> None:
        if code in WATCHED_CODES and code not in self.codes:
            self.codes.append(code)


_current: ContextVar[Capture | None] = ContextVar("monitoring_error_capture", default=None)


def capture_begin(place: str = "") -> Token:
    # Anything that reconfigures logging (a second django.setup(), a library's
    # dictConfig) drops the root logger's handlers; put ours back before each capture.
    capture_handler_ensure()
    return _current.set(Capture(place=place))


def capture_place(place: str) -> None:
    capture = _current.get()
    if capture is not None:
        capture.place = place


def capture_note(code: str) -> None:
    capture = _current.get()
    if capture is not None:
        capture.note(code)


def capture_exception(exception: BaseException | None) -> None:
    """A task failed: an aborted transaction is ``SYS-004``; a coded refusal is not noted."""
    if isinstance(exception, ApplicationError):
        return
    capture_note(SYS_LOCK_CONFLICT.code if is_lock_conflict(exception) else SYS_INTERNAL.code)


def capture_end(token: Token, *, request_id: str = "", status_code: int | None = None) -> None:
    capture = _current.get()
    _current.reset(token)
    if capture is None:
        return
    if status_code == 500:
        capture.note(SYS_INTERNAL.code)
    for code in capture.codes:
        try:
            error_occurrence_record(code=code, place=capture.place, request_id=request_id)
        except Exception:  # the database may be what failed: never break the answer
            logger.warning("could not record error %s at %s", code, capture.place, exc_info=True)


class ErrorCaptureHandler(logging.Handler):
    """On the root logger: notes the watched codes of log records in the open capture."""

    def emit(self, record: logging.LogRecord) -> None:
        code = getattr(record, "error_code", None)
        if code in WATCHED_CODES and record.name != logger.name:
            capture_note(code)


def capture_handler_ensure() -> None:
    """The capture handler is on the root logger, once."""
    root = logging.getLogger()
    if not any(isinstance(handler, ErrorCaptureHandler) for handler in root.handlers):
        root.addHandler(ErrorCaptureHandler())
