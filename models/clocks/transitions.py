"""What happens when a clock's light changes, beyond the announcement: handlers registered per
subject type (order escalation, automatic urges, deemed ratings, deemed acceptance) run in the
light scheduler's transaction (``workers/lights.py``). Domain packages register here, so they
never import the worker."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from esupervision.models.ledger.transaction import Transaction


@dataclass(frozen=True)
class Transition:
    """One announced light change, as handed to the handlers registered for its subject type."""

    clock: Any            # a ClockRecord (plain values, not an ORM object)
    light: str
    previous: str | None
    number: str | None    # the case number when the clock belongs to a case, its step or acceptance
    event: Any            # the ledger event that announced it


TransitionHandler = Callable[["Transaction", list[Transition]], None]
_handlers: dict[str, list[TransitionHandler]] = {}


def on_transition(subject_type: str, handler: TransitionHandler) -> None:
    """Run ``handler`` in the scheduler's transaction, after the clocks of a pass are written,
    with that pass's transitions of ``subject_type`` (order escalation, automatic urges, deemed
    ratings ...). Registering the same handler twice keeps one."""
    handlers = _handlers.setdefault(str(subject_type), [])
    if handler not in handlers:
        handlers.append(handler)


def handlers_for(subject_type: str) -> list[TransitionHandler]:
    """The handlers registered for ``subject_type``, in the order they were registered."""
    return _handlers.get(str(subject_type), [])
