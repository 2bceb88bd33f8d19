"""Shared simulated days: each reference day runs once per session (seed 1, reference
site), whatever the number of tests that look at it."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from pvopt.sim import scenarios
from pvopt.sim.house import House

REFERENCE_SEED = 1


class Days:
    """Lazily run full reference days and keep them."""

    def __init__(self) -> None:
        self._runs: dict[str, House] = {}
        self.cpu_s: dict[str, float] = {}

    def __call__(self, name: str) -> House:
        if name not in self._runs:
            began = time.process_time()
            self._runs[name] = scenarios.run(name, REFERENCE_SEED)
            self.cpu_s[name] = time.process_time() - began
            print(f"\n{name}: a full simulated day in {self.cpu_s[name]:.1f} s CPU")
        return self._runs[name]


@pytest.fixture(scope="session")
def reference_day() -> Callable[[str], House]:
    """``reference_day("winter")``: the full reference day (run on first use)."""
    return Days()
