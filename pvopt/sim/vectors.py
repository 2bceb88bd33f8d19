"""numpy views of a recording's per-step series, for the measures that sum them
(:mod:`~pvopt.sim.kpi`, :mod:`~pvopt.sim.yardstick`, :mod:`~pvopt.sim.report`,
:mod:`~pvopt.sim.series`).

A simulated day is 432,000 steps of 0.2 s: judging it step by step in Python costs more
than a second per controller and day, in numpy a few tens of milliseconds. numpy comes
with the ``sim`` extra, like pvlib: the measures import it on demand, never when
:mod:`pvopt.sim` is imported, so that the house and its models (and the daemons) never
need it; grading a run does — :func:`available` says whether it can be graded here.

Sums are taken in step order (:func:`running_sum`), one term after the other: numpy's
pairwise ``sum`` would change the last bits of the figures from one version to the next.
"""

from __future__ import annotations

import importlib.util
from array import array
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    from numpy.typing import NDArray

    Floats = NDArray[np.float64]
    Flags = NDArray[np.bool_]


@cache
def available() -> bool:
    """Can a run be graded here (numpy, from the ``sim`` extra)?"""
    return importlib.util.find_spec("numpy") is not None


def floats(values: Sequence[float]) -> Floats:
    """``values`` as a float64 array: a view without copy of an ``array("d")`` (do not
    keep it past the measure: the recording cannot grow while it is viewed)."""
    import numpy as np

    if isinstance(values, array) and values.typecode == "d":
        view: Floats = np.frombuffer(values, dtype=np.float64)
        return view
    return np.asarray(values, dtype=np.float64)


def flags(values: Sequence[int]) -> Flags:
    """``values`` (0/1 per step) as a boolean array."""
    import numpy as np

    if isinstance(values, array) and values.typecode == "b":
        view: NDArray[np.int8] = np.frombuffer(values, dtype=np.int8)
        nonzero: Flags = view != 0
        return nonzero
    listed: Flags = np.asarray(values, dtype=np.int64) != 0
    return listed


def running_sum(values: Floats) -> float:
    """``values`` added one after the other to 0.0, as a Python loop adds them: numpy's
    own ``sum`` pairs them and may differ in the last bits. Zeros change no partial sum
    (from 0.0, a zero total is +0.0): they are left out, most steps' terms are zero."""
    import numpy as np

    terms = values[values != 0]
    return 0.0 + float(np.cumsum(terms)[-1]) if len(terms) else 0.0


def slot_sums(values: Floats, per_slot: int, before: Floats | None = None) -> Floats:
    """The sum of each slot of ``per_slot`` consecutive values (the last slot holding
    what is left), added in order to 0.0 or to ``before`` (one per slot): the slots as
    the rows of a table padded with zeros, its columns added one after the other."""
    import numpy as np

    slots = -(-len(values) // per_slot)
    table = np.zeros(slots * per_slot)
    table[: len(values)] = values
    columns = table.reshape(slots, per_slot).T.copy()
    sums: Floats = np.zeros(slots) if before is None else before
    for column in columns:
        sums = sums + column
    return sums


def means(values: Floats | Sequence[float], per_slot: int) -> tuple[float, ...]:
    """The mean of each slot of ``per_slot`` consecutive values, the last slot holding
    what is left; each slot's sum is taken in order (:func:`slot_sums`), as ``sum`` would
    take it (the plot, ``--series`` and the optimum's slots all average so)."""
    import numpy as np

    values = floats(values) if not isinstance(values, np.ndarray) else values

    counts = np.full(-(-len(values) // per_slot), float(per_slot))
    if len(values) % per_slot:
        counts[-1] = len(values) % per_slot
    return tuple((slot_sums(values, per_slot) / counts).tolist())
