"""``pvopt web`` holds glibc's mmap threshold, so that each password check's 16 MiB
scrypt buffer goes back to the system when freed instead of staying in the verifier
thread's arena (issue #16: the daemon's memory with 20 sign-ins)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pvopt.daemons import web
from pvopt.io import allocator


class FakeMallopt:
    """Records ``mallopt``'s calls; answers ``result``."""

    def __init__(self, result: int = 1) -> None:
        self.result = result
        self.calls: list[tuple[int, int]] = []

    def __call__(self, param: int, value: int) -> int:
        self.calls.append((param, value))
        return self.result


def test_the_threshold_is_set_once_at_glibcs_own_default() -> None:
    fake = FakeMallopt()
    result = allocator.hold_mmap_threshold(environ={}, mallopt=lambda: fake)
    assert fake.calls == [(allocator.M_MMAP_THRESHOLD, 128 * 1024)]
    assert result == allocator.ThresholdResult(
        True, "blocks of 128 KiB and more go back to the system when freed"
    )


@pytest.mark.parametrize(
    "environ",
    [
        {"MALLOC_MMAP_THRESHOLD_": "65536"},
        {"GLIBC_TUNABLES": "glibc.malloc.arena_max=1:glibc.malloc.mmap_threshold=65536"},
    ],
)
def test_an_operators_own_threshold_is_left_alone(environ: dict[str, str]) -> None:
    fake = FakeMallopt()
    result = allocator.hold_mmap_threshold(environ=environ, mallopt=lambda: fake)
    assert fake.calls == []
    assert not result.applied and "environment" in result.reason


def test_another_tunable_does_not_stop_it() -> None:
    fake = FakeMallopt()
    allocator.hold_mmap_threshold(
        environ={"GLIBC_TUNABLES": "glibc.malloc.arena_max=1"}, mallopt=lambda: fake
    )
    assert len(fake.calls) == 1


def test_without_glibc_or_when_refused_it_says_so_and_goes_on() -> None:
    result = allocator.hold_mmap_threshold(environ={}, mallopt=lambda: None)
    assert result == allocator.ThresholdResult(False, "not glibc: the C allocator left as it is")
    refused = allocator.hold_mmap_threshold(environ={}, mallopt=lambda: FakeMallopt(0))
    assert not refused.applied and "refused" in refused.reason


def test_pvopt_web_holds_the_threshold_before_anything_else(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls: list[str] = []

    def hold() -> allocator.ThresholdResult:
        calls.append("held")
        return allocator.ThresholdResult(True, "held")

    monkeypatch.setattr(allocator, "hold_mmap_threshold", hold)
    options = web.WebRunOptions("127.0.0.1", 1, tmp_path / "no-password", None, None, False)
    # No password file: run() stops at its first check, after the allocator's.
    assert web.run(options, settings=None) == 2  # type: ignore[arg-type]
    assert calls == ["held"]


#: Two scrypt checks of pvopt's cost on one worker thread (as pvopt web's verifier), the
#: process's resident memory (kB) printed after each.
TWO_CHECKS = textwrap.dedent(
    """
    import re, sys
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path
    from pvopt.io import allocator
    from pvopt.web import auth

    if sys.argv[1] == "held":
        assert allocator.hold_mmap_threshold(environ={}).applied
    stored = auth.parse_hash(auth.hash_password("x", params=auth.ScryptParams(4, 1, 1)))
    stored = auth.PasswordHash(auth.DEFAULT_PARAMS, stored.salt, stored.key)
    with ThreadPoolExecutor(max_workers=1) as verifier:
        for _ in range(2):
            verifier.submit(auth.verify_password, "x", stored).result()
            status = Path("/proc/self/status").read_text()
            print(re.search(r"VmRSS:\\s+(\\d+)", status)[1])
    """
)


def rss_growth_kb(mode: str) -> int:
    """Resident memory gained from the first check to the second, kB."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_"))}
    out = subprocess.run(
        [sys.executable, "-c", TWO_CHECKS, mode],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout.split()
    return int(out[1]) - int(out[0])


@pytest.mark.skipif(allocator.glibc_mallopt() is None, reason="glibc only")
def test_with_the_threshold_held_a_second_check_keeps_no_16_mib() -> None:
    # Without it, glibc's dynamic threshold rises after the first check's block is
    # unmapped, and the second check's block stays in the thread's arena: +16 MiB.
    held = rss_growth_kb("held")
    assert held < 4 * 1024, f"+{held} kB after the second check"
