"""Fast lookups of precomputed functions of time for the simulation.

PV, base load, clouds and hot-water flows are precomputed as breakpoints once and read
here with a cursor (time mostly moves forward), falling back to a bisection when it does
not. The house samples them a chunk of steps at a time (:meth:`Linear.sample`,
:meth:`Steps.sample`) and asks a step function where it changes (:meth:`Steps.runs`).
Samples are averaged over slots (a minute of 0.2 s steps) by :func:`means`.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections.abc import Sequence
from itertools import accumulate, repeat
from typing import NamedTuple


class Linear:
    """A piecewise-linear function through ``(t, value)`` points, constant outside them."""

    def __init__(self, times: Sequence[float], values: Sequence[float]) -> None:
        if len(times) != len(values) or not times:
            raise ValueError("need as many values as times, at least one")
        if any(b < a for a, b in itertools.pairwise(times)):
            raise ValueError("times must not decrease")
        self.times = list(times)
        self.values = list(values)
        self._i = 0  # index of the segment [times[i], times[i+1]) last used

    def _segment(self, t: float) -> int:
        times = self.times
        i = self._i
        last = len(times) - 1
        if times[i] <= t and (i == last or t < times[i + 1]):
            return i
        if i < last - 1 and times[i + 1] <= t < times[i + 2]:
            self._i = i + 1
            return i + 1
        i = max(bisect_right(times, t) - 1, 0)
        self._i = i
        return i

    def __call__(self, t: float) -> float:
        """The value at ``t``."""
        times, values = self.times, self.values
        if t <= times[0]:
            return values[0]
        if t >= times[-1]:
            return values[-1]
        i = self._segment(t)
        t0, t1 = times[i], times[i + 1]
        if t1 <= t0:
            return values[i + 1]
        v0 = values[i]
        return v0 + (values[i + 1] - v0) * (t - t0) / (t1 - t0)

    def sample(self, t0: float, dt: float, n: int, progression: bool = False) -> list[float]:
        """The values at ``t0 + k·dt`` for ``k < n`` (one pass: faster than n calls).

        Segment by segment: the steps falling in one segment are computed in one list
        comprehension, with the same arithmetic as :meth:`__call__`. With
        ``progression``, only a segment's first step is; the next ones add the segment's
        rise per step (summed in C, ~4× faster): that is the function at the exact times
        ``t0 + k·dt``, where :meth:`__call__` gets them rounded (near 1.8e9 s a time is a
        multiple of 2.4e-7 s): they differ by the slope times that rounding."""
        times, values = self.times, self.values
        first, last = times[0], times[-1]
        top = len(times) - 1
        out: list[float] = []
        k = 0
        while k < n and t0 + k * dt <= first:
            k += 1
        out.extend([values[0]] * k)
        i = self._segment(min(max(t0 + k * dt, first), last))
        while k < n:
            t = t0 + k * dt
            if t >= last:
                out.extend([values[-1]] * (n - k))
                break
            while i < top - 1 and times[i + 1] <= t:
                i += 1
            a, b = times[i], times[i + 1]
            end = _steps_before(t0, dt, k, n, min(b, last))
            if b <= a:
                out.extend([values[i + 1]] * (end - k))
            else:
                v, rise, span = values[i], values[i + 1] - values[i], b - a
                if progression:
                    first = v + rise * (t0 + k * dt - a) / span
                    out.extend(accumulate(repeat(rise * dt / span, end - k - 1), initial=first))
                else:
                    out.extend([v + rise * (t0 + j * dt - a) / span for j in range(k, end)])
            k = end
        self._i = i
        return out


def _steps_before(t0: float, dt: float, k: int, n: int, limit: float) -> int:
    """The first ``j`` in ``(k, n]`` with ``t0 + j·dt ≥ limit`` (``n`` if none): the steps
    ``k … j−1`` lie before ``limit``. Step ``k`` is taken to be before it."""
    j = min(max(k + 1, k + int((limit - (t0 + k * dt)) / dt)), n)
    while j > k + 1 and t0 + (j - 1) * dt >= limit:
        j -= 1
    while j < n and t0 + j * dt < limit:
        j += 1
    return j


class LevelChange(NamedTuple):
    """Where a sampled series takes a new value: the first step of a run of equal values,
    and that value."""

    step: int
    value: float


class Steps:
    """A piecewise-constant function: ``values[i]`` from ``times[i]`` until ``times[i+1]``,
    ``before`` earlier than ``times[0]``."""

    def __init__(self, times: Sequence[float], values: Sequence[float], before: float = 0.0):
        if len(times) != len(values):
            raise ValueError("need as many values as times")
        if any(b < a for a, b in itertools.pairwise(times)):
            raise ValueError("times must not decrease")
        self.times = list(times)
        self.values = list(values)
        self.before = before
        self._i = -1

    def __call__(self, t: float) -> float:
        """The value at ``t``."""
        times = self.times
        i = self._i
        n = len(times)
        if not ((i < 0 or times[i] <= t) and (i + 1 >= n or t < times[i + 1])):
            if i + 1 < n and times[i + 1] <= t and (i + 2 >= n or t < times[i + 2]):
                i += 1
            else:
                i = bisect_right(times, t) - 1
        self._i = i
        return self.before if i < 0 else self.values[i]

    def sample(self, t0: float, dt: float, n: int) -> list[float]:
        """The values at ``t0 + k·dt`` for ``k < n``."""
        runs = self.runs(t0, dt, n)
        out: list[float] = []
        for (k, value), (end, _) in itertools.pairwise([*runs, (n, 0.0)]):
            out.extend([value] * (end - k))
        return out

    def runs(self, t0: float, dt: float, n: int) -> list[LevelChange]:
        """Where the values at ``t0 + k·dt`` (``k < n``) change: the first step of each
        run of equal values and its value, ``k = 0`` first (an empty list if ``n ≤ 0``)."""
        times, values = self.times, self.values
        count = len(times)
        i = bisect_right(times, t0) - 1
        out: list[LevelChange] = []
        k = 0
        while k < n:
            t = t0 + k * dt
            while i + 1 < count and times[i + 1] <= t:
                i += 1
            value = self.before if i < 0 else values[i]
            if not out or out[-1].value != value:
                out.append(LevelChange(step=k, value=value))
            k = n if i + 1 >= count else _steps_before(t0, dt, k, n, times[i + 1])
        return out


def step_sum(events: Sequence[tuple[float, float, float]]) -> Steps:
    """The sum of rectangular pulses ``(start, end, height)`` as one :class:`Steps`."""
    changes: dict[float, float] = {}
    for start, end, height in events:
        if end <= start or height == 0:
            continue
        changes[start] = changes.get(start, 0.0) + height
        changes[end] = changes.get(end, 0.0) - height
    times = sorted(changes)
    values: list[float] = []
    level = 0.0
    for t in times:
        level += changes[t]
        values.append(0.0 if abs(level) < 1e-9 else level)
    return Steps(times, values)
