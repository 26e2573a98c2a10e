"""The pace's tuning: every constant the pacing decisions use, with what it means (pure).

The decisions are in `pacing.py` (the rate: decreases, the store's burst, the floor, recovery),
`pacing_noise.py` (background 429s), `pacing_turns.py` (the schedule of request starts) and
`pacing_inflight.py` (the in-flight bound); `provisioner.pacing` re-exports every name here.
"""

from __future__ import annotations

WINDOW = 1.0  # seconds of answers the decisions look at
HISTORY = 10.0  # seconds of accepted requests the store's rate is estimated from (`_shown`)
REFUSED_FRACTION = 0.02  # a decrease needs at least this share of 429s among recent answers
DECREASE = 0.8  # a decrease takes at least 20% off the rate
ESTIMATE_MARGIN = 0.9  # ... and goes to 90% of the rate the store just accepted, if lower
MIN_RATE = 0.5  # requests per second: the pace never falls below this (or the ceiling)
FLOOR_FRACTION = 0.25  # ... nor below this share of the most the store accepted in a window
YIELD_FRACTION = 0.5  # ... unless the store refused at least this share of ...
YIELD_ANSWERS = 20  # ... its last answers (this many)
NOISE_DECREASES = 2  # decreases after the first in a row, none lowering the share of 429s
NOISE_KEEP = 0.75  # ... and each did not lower the share of 429s below this part of before
EPISODE_ANSWERS = 3  # answers at one pace in an episode that estimate the store's rate
STEP_ANSWERS = 10  # (a share told from at least this many answers since the decrease before)
NOISE_FACTOR = 2.0  # once so, a decrease needs this many times that share of 429s
QUIET = 10.0  # seconds without a decrease before probing above the decreased rate ...
QUIET_REQUESTS = 40  # ... and at least this many requests' worth of time at that rate
STEP_FRACTION = 0.05  # additive increase per second, as a share of the decreased rate
LATE_TOLERANCE = 0.2  # seconds a waiting request may wake up late without losing its place
LATENCY_WEIGHT = 0.2  # exponentially weighted moving average of answered requests' latency
INITIAL_LATENCY = 0.1  # seconds assumed before the first answer
IN_FLIGHT_MARGIN = 1.5  # requests in flight: this x rate x latency ...
IN_FLIGHT_SPARE = 2  # ... plus this many
BASE_FACTOR = 3.0  # the latency that counts is at most this x ...
BASE_WINDOW = 2.0  # ... the least of this many seconds' answers ...
BASE_FLOOR = 0.01  # ... or of this many seconds, if more
SILENT = 2.0  # seconds without an answer after which pace waits are not the ceiling's
RECHECK = 0.5  # seconds between a waiting request's looks at a rising in-flight limit
