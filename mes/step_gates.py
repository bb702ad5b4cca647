"""The port through which finishing an operation asks whether a blocking check is due.

Configurable steps (first-article checks and the like) are stored by quality,
which sits above workorders; the finish service asks this kernel module, and
quality installs its checker when Django starts (``QualityConfig.ready``), so
workorders never imports quality. Without an installed checker nothing is
gated.

The checker is called inside the finish transaction, with the operation
locked and its good and scrap quantities set. It raises an
``ApplicationError`` (its own code and a hint in ``extra["hint"]``) to refuse
the finish; it returns nothing otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

StepGate = Callable[..., None]  # (operation, *, actor) -> None, raises to refuse
_gate: StepGate | None = None


def install_step_gate(gate: StepGate) -> None:
    global _gate
    _gate = gate


def step_gate_check(operation: Any, *, actor: Any) -> None:
    """Refuse to finish ``operation`` while a blocking check is due and not passed."""
    if _gate is not None:
        _gate(operation, actor=actor)
