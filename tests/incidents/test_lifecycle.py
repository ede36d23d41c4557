"""The incident lifecycle: every allowed and refused status move, and the messages."""

from __future__ import annotations

import pytest

from watchfloor.incidents.lifecycle import (
    MoveRefused,
    allowed_moves,
    check_move,
    is_open,
)

STEPS = ["triage", "contained", "eradicated", "recovered", "closed"]


@pytest.mark.parametrize(
    ("current", "to", "reason", "skipped", "reopen"),
    [
        ("triage", "contained", None, [], False),
        ("contained", "eradicated", None, [], False),
        ("eradicated", "recovered", None, [], False),
        ("recovered", "closed", None, [], False),
        ("closed", "triage", None, [], True),
        ("triage", "eradicated", "guard held the door", ["contained"], False),
        ("triage", "recovered", "false entry", ["contained", "eradicated"], False),
        (
            "triage",
            "closed",
            "duplicate of another incident",
            ["contained", "eradicated", "recovered"],
            False,
        ),
        ("contained", "recovered", "nothing to remove", ["eradicated"], False),
        ("contained", "closed", "handed over", ["eradicated", "recovered"], False),
        ("eradicated", "closed", "no recovery needed", ["recovered"], False),
        # A reason on a one-step move is kept, not required.
        ("triage", "contained", "door locked", [], False),
    ],
)
def test_allowed_moves(
    current: str, to: str, reason: str | None, skipped: list[str], reopen: bool
) -> None:
    move = check_move(current, to, reason)
    assert move.to.value == to
    assert [step.value for step in move.skipped] == skipped
    assert move.needs_reason is bool(skipped)
    assert move.reopen is reopen


@pytest.mark.parametrize(
    ("current", "to", "reason", "message"),
    [
        (
            "contained",
            "triage",
            None,
            "cannot move from contained to triage; from contained it can move to "
            "eradicated, recovered (skipping eradicated; needs a reason) or closed "
            "(skipping eradicated, recovered; needs a reason)",
        ),
        (
            "triage",
            "triage",
            None,
            "is already triage; from triage it can move to contained, eradicated",
        ),
        (
            "closed",
            "contained",
            None,
            "cannot move from closed to contained; from closed it can move to "
            "triage (reopen)",
        ),
        (
            "recovered",
            "eradicated",
            "oops",
            "cannot move from recovered to eradicated; from recovered it can move "
            "to closed",
        ),
        (
            "triage",
            "recovered",
            None,
            "cannot move from triage to recovered without a reason: the move skips "
            "contained, eradicated; give a reason for skipping, or move to "
            "contained first",
        ),
        (
            "contained",
            "closed",
            "   ",
            "cannot move from contained to closed without a reason",
        ),
        ("closed", "closed", "again", "is already closed"),
    ],
)
def test_refused_moves_say_which_are_allowed(
    current: str, to: str, reason: str | None, message: str
) -> None:
    with pytest.raises(MoveRefused) as caught:
        check_move(current, to, reason)
    assert caught.value.phrase.startswith(message)
    assert str(caught.value) == f"the incident {caught.value.phrase}"
    assert caught.value.current == current
    assert caught.value.allowed == allowed_moves(current)


def test_every_pair_of_statuses_is_either_allowed_or_refused() -> None:
    for current in STEPS:
        for to in STEPS:
            here, there = STEPS.index(current), STEPS.index(to)
            forward = there > here
            reopen = current == "closed" and to == "triage"
            if forward or reopen:
                check_move(current, to, "a reason")
            else:
                with pytest.raises(MoveRefused):
                    check_move(current, to, "a reason")


def test_unknown_statuses_are_named() -> None:
    with pytest.raises(ValueError, match="'done' is not an incident status; use one"):
        check_move("triage", "done")
    with pytest.raises(ValueError, match="'open' is not an incident status"):
        allowed_moves("open")


def test_open_means_not_closed() -> None:
    assert [is_open(status) for status in STEPS] == [True, True, True, True, False]
