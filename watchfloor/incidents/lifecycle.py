"""The incident lifecycle: which status moves are allowed, and when a reason is due.

An incident moves forward one step at a time::

    triage -> contained -> eradicated -> recovered -> closed

and a closed incident may be reopened (``closed -> triage``). A forward move
that passes over one or more steps (``triage -> recovered``) is a *skip*: it
is allowed only with a reason, which is recorded with the move. No other move
is allowed: an incident does not go back a step except by closing and
reopening, and moving to the status it already has is refused.

Example:
    >>> check_move("triage", "contained").skipped
    ()
    >>> check_move("triage", "recovered", reason="contained by the guard").skipped
    ('contained', 'eradicated')
"""

from __future__ import annotations

from dataclasses import dataclass

from watchfloor.models.incidents import IncidentStatus

ORDER: tuple[IncidentStatus, ...] = (
    IncidentStatus.TRIAGE,
    IncidentStatus.CONTAINED,
    IncidentStatus.ERADICATED,
    IncidentStatus.RECOVERED,
    IncidentStatus.CLOSED,
)
"""The steps of the lifecycle, in order."""


class MoveRefused(ValueError):
    """A status move is not allowed; the message says which moves are.

    Attributes:
        phrase: The message without its subject, to follow a name such as
            "incident 7": ``is already contained; from contained it can ...``.
        current: The incident's status.
        to: The status asked for.
        allowed: The moves allowed from ``current``.
    """

    def __init__(
        self, phrase: str, current: str, to: str, allowed: tuple[Move, ...]
    ) -> None:
        super().__init__(f"the incident {phrase}")
        self.phrase = phrase
        self.current = current
        self.to = to
        self.allowed = allowed


@dataclass(frozen=True)
class Move:
    """One allowed status move.

    Attributes:
        source: The status moved from.
        to: The status moved to.
        skipped: The steps passed over, in order; empty for a one-step move.
        reopen: True for ``closed -> triage``.
    """

    source: IncidentStatus
    to: IncidentStatus
    skipped: tuple[IncidentStatus, ...] = ()
    reopen: bool = False

    @property
    def needs_reason(self) -> bool:
        """Whether the move passes over steps, so that a reason must be given."""
        return bool(self.skipped)

    def describe(self) -> str:
        """``contained``, or ``recovered (skipping eradicated; needs a reason)``."""
        if self.reopen:
            return f"{self.to.value} (reopen)"
        if not self.skipped:
            return self.to.value
        passed = ", ".join(step.value for step in self.skipped)
        return f"{self.to.value} (skipping {passed}; needs a reason)"


def parse_status(value: str) -> IncidentStatus:
    """The status called ``value``.

    Raises:
        ValueError: No status has that name; the message lists them.
    """
    try:
        return IncidentStatus(value)
    except ValueError:
        names = ", ".join(step.value for step in ORDER)
        raise ValueError(
            f"{value!r} is not an incident status; use one of {names}"
        ) from None


def allowed_moves(current: str) -> tuple[Move, ...]:
    """Every move allowed from ``current``, the one-step move first.

    Raises:
        ValueError: ``current`` is not a status.
    """
    status = parse_status(current)
    if status is IncidentStatus.CLOSED:
        return (Move(status, IncidentStatus.TRIAGE, reopen=True),)
    here = ORDER.index(status)
    return tuple(
        Move(status, ORDER[later], skipped=ORDER[here + 1 : later])
        for later in range(here + 1, len(ORDER))
    )


def is_open(status: str) -> bool:
    """Whether an incident in ``status`` is still being handled (not closed)."""
    return status != IncidentStatus.CLOSED.value


def check_move(current: str, to: str, reason: str | None = None) -> Move:
    """The move from ``current`` to ``to``, if it is allowed with this reason.

    Args:
        current: The incident's status.
        to: The status asked for.
        reason: Why steps are skipped; required when the move skips any.

    Returns:
        The move, with the steps it passes over.

    Raises:
        MoveRefused: The move is not allowed, or skips steps without a reason;
            the message names the moves that are allowed.
        ValueError: ``to`` or ``current`` is not a status.
    """
    target = parse_status(to)
    moves = allowed_moves(current)
    choices = _choices(current, moves)
    for move in moves:
        if move.to is not target:
            continue
        if move.needs_reason and not (reason and reason.strip()):
            passed = ", ".join(step.value for step in move.skipped)
            raise MoveRefused(
                f"cannot move from {current} to {target.value} without a reason: "
                f"the move skips {passed}; give a reason for skipping, or move to "
                f"{moves[0].to.value} first",
                current,
                target.value,
                moves,
            )
        return move
    if target.value == current:
        head = f"is already {current}"
    else:
        head = f"cannot move from {current} to {target.value}"
    raise MoveRefused(f"{head}; {choices}", current, target.value, moves)


def _choices(current: str, moves: tuple[Move, ...]) -> str:
    if len(moves) == 1:
        return f"from {current} it can move to {moves[0].describe()}"
    listed = ", ".join(move.describe() for move in moves[:-1])
    return f"from {current} it can move to {listed} or {moves[-1].describe()}"
