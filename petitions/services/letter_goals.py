"""Where a letter stands against its goal, and what it aims for once the goal is reached.

A bar stuck at 100% at eighteen times the goal says nothing; a reached goal is said in words
and the bar measures the way to the next milestone: the organiser's stretch goal while it is
ahead, else the next round number (18,053 → 20,000; 20,000 → 30,000).
"""

from __future__ import annotations

from dataclasses import dataclass

from petitions.models.letters import Letter


def next_round_number(count: int) -> int:
    """The next multiple of the count's leading power of ten above it (1,000 → 2,000)."""
    if count < 10:
        return 10
    step = 10 ** (len(str(count)) - 1)
    return int((count // step + 1) * step)


@dataclass(frozen=True)
class GoalProgress:
    count: int
    goal: int
    reached: bool
    # What the bar measures: the goal, or once it is reached, the next milestone.
    target: int
    # The milestone after a reached goal is the organiser's stretch goal (else a round number).
    is_stretch: bool

    @property
    def percent(self) -> int:
        return min(100, self.count * 100 // self.target)


def goal_progress(letter: Letter) -> GoalProgress | None:
    """None when the letter has no goal."""
    goal = letter.goal
    if not goal:
        return None
    count = letter.count_total
    if count < goal:
        return GoalProgress(count, goal, reached=False, target=goal, is_stretch=False)
    stretch = letter.stretch_goal
    if stretch and stretch > count:
        return GoalProgress(count, goal, reached=True, target=stretch, is_stretch=True)
    return GoalProgress(
        count, goal, reached=True, target=next_round_number(count), is_stretch=False
    )
