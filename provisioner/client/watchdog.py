"""The frozen-store watchdog: a store that answers nothing for a whole deadline is frozen.

`Sender` registers every attempt under way with its deadline's scope (`watch`, `forget`); a
timer checks the store's silence when those attempts will have waited a whole deadline for it.
A store found silent is frozen (`silence`): every attempt still waiting (for a place, its turn,
a token or an answer) is cut at once, and no later one is sent while it stays silent (`frozen`).
"""

from __future__ import annotations

import asyncio
import time

from provisioner.client.calls import Attempts
from provisioner.client.settings import ClientConfig
from provisioner.client.transport import Liveness, Wire

# A deadline's timer fires when the clock reaches it; the sum `start + deadline` may round.
CLOCK_SLACK = 1e-3


class Watchdog:
    """Finds a store silent for a whole deadline, and cuts the attempts waiting on it."""

    def __init__(self, config: ClientConfig, liveness: Liveness) -> None:
        self.config = config
        self.liveness = liveness
        # The deadlines of the attempts under way, to cut them when the store is found silent.
        self._pending: dict[asyncio.Timeout, Attempts] = {}
        self._watchdog: asyncio.TimerHandle | None = None
        self._watchdog_loop: asyncio.AbstractEventLoop | None = None
        self._busy_since = 0.0  # requests have been under way without a break since then

    def watch(self, scope: asyncio.Timeout, run: Attempts) -> None:
        """An attempt of `run` is under way within `scope`: cut at once if the store is found
        silent. Every `watch` is followed by `forget` when the attempt ends."""
        if not self._pending:
            self._busy_since = time.monotonic()
        self._pending[scope] = run
        self._watch()

    def forget(self, scope: asyncio.Timeout) -> None:
        """The attempt within `scope` ended."""
        del self._pending[scope]

    def frozen(self) -> bool:
        """A request found the store silent, and it has answered nothing since."""
        mark = self.liveness.silent_mark
        return mark is not None and self.liveness.last_answer <= mark

    def silent(self, run: Attempts, wire: Wire) -> bool:
        """True when the store answered nothing during all of `run`'s deadline although it
        had requests to answer (this one on the wire, or those holding the places and the
        token call it waited for): it is frozen. A client that sent nothing (its own pace,
        a `Retry-After` pause) is not a silent store."""
        liveness = self.liveness
        quiet = time.monotonic() - max(liveness.last_answer, run.started) + CLOCK_SLACK
        return quiet >= self.config.deadline and (wire.sent or liveness.on_wire > 0)

    def _quiet_from(self) -> float:
        """Since when the store has had requests to answer, and answered none."""
        return max(self.liveness.last_answer, self._busy_since)

    def _watch(self) -> None:
        """Make sure the store's silence is checked when the requests under way will have
        waited a whole deadline for it (the requests' own deadlines may come later: those
        queued after the store froze)."""
        loop = asyncio.get_running_loop()
        if self._watchdog is not None and self._watchdog_loop is loop:
            return  # one is set (a handle of a loop that ended is forgotten)
        if self._pending:
            when = self._quiet_from() + self.config.deadline
            self._watchdog, self._watchdog_loop = loop.call_at(when, self._check_silence), loop

    def _check_silence(self) -> None:
        self._watchdog = None
        if not self._pending:
            return
        quiet = time.monotonic() - self._quiet_from() + CLOCK_SLACK
        if quiet >= self.config.deadline and self.liveness.on_wire > 0:
            self.silence()
            return
        if quiet >= self.config.deadline:  # nothing sent (the pace, a pause): look again soon
            delay = min(1.0, self.config.deadline / 4)
            loop = asyncio.get_running_loop()
            self._watchdog, self._watchdog_loop = loop.call_later(delay, self._check_silence), loop
            return
        self._watch()

    def silence(self) -> None:
        """The store answered nothing for a whole deadline: it is frozen. Every request still
        waiting (for a place, its turn, a token or an answer) is cut now, and later ones are
        not sent (`Sender` asks `frozen`): the run stops with the first deadline, not one
        deadline after the last request that queued behind the frozen ones."""
        self.liveness.silent_mark = self.liveness.last_answer
        now = asyncio.get_running_loop().time()
        for scope, other in list(self._pending.items()):
            if not scope.expired():
                other.silenced = True
                scope.reschedule(now)
