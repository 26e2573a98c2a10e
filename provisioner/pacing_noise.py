"""Background 429s: telling a store's limit from 429s that come whatever the pace (pure).

- **Background 429s.** A limit stops refusing once the pace is below it, so it rarely needs more
  than two decreases in a row. 429s that keep coming however slow the pace (a store that answers a
  share of its requests 429 at random, as the local store's `fail_rate` does, or others' traffic
  that slowing down does not relieve) do: at the `NOISE_DECREASES`-th decrease after the first in a
  row, none of which lowered the share of 429s (below `NOISE_KEEP` of the share between the two
  decreases before, both told from `STEP_ANSWERS` answers at least: a limit shared with a client
  that keeps its pace needs several decreases, and each of them does lower it; a share of two
  answers lowers nothing), the pace goes back to where it was before the first, and the share of
  429s seen since then becomes the `noise` share: from then on a decrease needs `NOISE_FACTOR`
  times that share of 429s among the window's answers (or half of the last answers refused, which
  is a limit whatever came before). See `Pacer._background`.

`Background` is the part of `pacing.Pacer` that makes this judgement (`_background`, called by
`Pacer.answered` before a decrease); the state it reads is the Pacer's.
"""

from __future__ import annotations

from collections import deque

from provisioner.pacing_tuning import (
    NOISE_DECREASES,
    NOISE_KEEP,
    STEP_ANSWERS,
    WINDOW,
    YIELD_ANSWERS,
    YIELD_FRACTION,
)


class Background:
    """The judgement of 429s that a slower pace does not relieve (`Pacer` is one)."""

    # Set by `Pacer.__init__` (see there).
    noise: float
    undone: int
    _answers: deque[tuple[float, bool]]
    _refused: int
    _last: deque[bool]
    _tat: float
    _after: float
    _decreased_at: float | None
    _episode_at: float | None
    _undone_at: float
    _flat: int
    _flat_before: float
    _flat_since: float
    _flat_answers: int
    _flat_refused: int
    _step_answers: int
    _step_refused: int
    _step_share: float
    _step_told: int

    def rate(self, now: float | None = None) -> float:
        """Requests per second allowed at `now` (the Pacer's)."""
        raise NotImplementedError

    @property
    def quiet(self) -> float:
        """Seconds the decreased rate holds before it rises again (the Pacer's)."""
        raise NotImplementedError

    def _new_epoch(self) -> None:
        raise NotImplementedError

    def _background(self, now: float) -> bool:
        """Whether this 429, which would decrease the pace, is taken as background instead.

        A store's limit stops refusing once the pace is below it, and a decrease goes below what
        the store just accepted, so a limit rarely needs more than two decreases in a row (each
        before the pace the last one set held for its quiet period), and when it needs more (shared
        with a client that keeps its pace), each lowers the share of 429s. 429s that keep coming
        however slow the pace (a store answering a share of its requests 429 at random, or others'
        traffic on a shared limit that slowing down does not relieve) need more, and the share
        stays: the `NOISE_DECREASES`-th after the first in a row that did not lower it below
        `NOISE_KEEP` of the share before (both shares told from `STEP_ANSWERS` answers at least: at
        a slow pace, a share of two answers is no share; counted once the window holds only answers
        after the first) puts the pace back where it was before the first, and their share of the
        answers since then becomes `noise`: from then on only a share of 429s `NOISE_FACTOR` times
        as large decreases the pace (see `answered`), and the pace put back up is not judged again
        for a window. A store refusing half or more of its last answers, or every answer since the
        first of these decreases, is a limit whatever came before: never background.
        """
        refusing = self._refusing()
        if now - self._undone_at < WINDOW and not refusing:
            return True  # just back up: one window at that pace before judging it again
        held = self._decreased_at is None or now - self._decreased_at >= self.quiet
        if held or refusing:
            self._flat = 0
            self._flat_before = self.rate(now)
            self._flat_since = now
            self._flat_answers = self._flat_refused = 0
            self._next_step(self._refused / max(1, len(self._answers)), len(self._answers))
            return False
        share = self._step_refused / max(1, self._step_answers)
        told = min(self._step_answers, self._step_told) >= STEP_ANSWERS  # (both shares)
        falling = told and share < NOISE_KEEP * self._step_share
        self._next_step(share, self._step_answers)
        if falling:
            self._flat = 0  # the last decrease lowered the share of 429s: a limit (shared?)
            return False
        if now - self._flat_since < WINDOW:
            return False  # the answers of the window still include those before the first
        if self._flat_refused >= self._flat_answers:
            return False  # nothing accepted since the first: a store refusing all is a limit
        self._flat += 1
        if self._flat < NOISE_DECREASES:
            return False
        self.noise = max(self.noise, self._flat_refused / max(1, self._flat_answers))
        self._flat = 0
        self._after = max(self._after, self._flat_before)
        self._tat = min(self._tat, now + 1.0 / self._after)  # the next start at the new pace
        self._undone_at = now
        self.undone += 1
        self._episode_at = None  # (what a slower pace got is no estimate of the store)
        self._new_epoch()
        return True

    def _next_step(self, share: float, answers: int) -> None:
        self._step_share = share
        self._step_told = answers
        self._step_answers = self._step_refused = 0

    def _refusing(self) -> bool:
        """Whether the store refused at least `YIELD_FRACTION` of its last answers (of the
        last `YIELD_ANSWERS`, once there are `YIELD_ANSWERS // 2`)."""
        answers = len(self._last)
        return answers >= YIELD_ANSWERS // 2 and sum(self._last) >= YIELD_FRACTION * answers
