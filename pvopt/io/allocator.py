"""The C allocator's big blocks go back to the system when freed (glibc only).

Why: ``pvopt web`` checks each password with scrypt (:mod:`pvopt.web.auth`), whose 16 MiB
buffer OpenSSL takes from ``malloc`` and frees after the check. glibc serves a block that
big with ``mmap`` and unmaps it on ``free``, but then raises its *dynamic* mmap threshold
to the freed block's size (up to 32 MiB on 64-bit), so the next check's buffer comes from
the verifier thread's arena, and stays resident once freed: the daemon went from 43.8 MB
to 59.8 MB at the second sign-in, for good (``/proc/PID/smaps``: one 16 MiB mapping of a
thread arena; benchmarks/bench_web.py). Setting ``M_MMAP_THRESHOLD`` once, at start,
turns that adjustment off: every block of :data:`MMAP_THRESHOLD_BYTES` or more is mapped
for itself and unmapped when freed, each check's 16 MiB with it.

Elsewhere (musl, macOS) nothing is done: the reason says why. An operator's own setting
(``MALLOC_MMAP_THRESHOLD_``, or ``glibc.malloc.mmap_threshold`` in ``GLIBC_TUNABLES``)
is left as it is.
"""

from __future__ import annotations

import ctypes
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass

#: ``mallopt``'s parameter number for the mmap threshold (glibc's ``<malloc.h>``).
M_MMAP_THRESHOLD = -3
#: glibc's own starting threshold, held there: far under scrypt's 16 MiB, and accepted on
#: 32-bit systems too (their ``mallopt`` refuses more than 512 KiB).
MMAP_THRESHOLD_BYTES = 128 * 1024
#: The environment variable and the tunable that set the threshold from outside.
ENV_VARIABLE = "MALLOC_MMAP_THRESHOLD_"
TUNABLE = "glibc.malloc.mmap_threshold"

#: ``mallopt(param, value)``: 1 when done, 0 when refused.
Mallopt = Callable[[int, int], int]


@dataclass(frozen=True)
class ThresholdResult:
    """What :func:`hold_mmap_threshold` did, and why (for the start-up log)."""

    applied: bool
    reason: str


def set_outside(environ: Mapping[str, str]) -> bool:
    """True when the environment already chooses the mmap threshold."""
    return ENV_VARIABLE in environ or TUNABLE in environ.get("GLIBC_TUNABLES", "")


def glibc_mallopt() -> Mallopt | None:
    """The process's own ``mallopt`` when its C library is glibc, else None."""
    confstr = getattr(os, "confstr", None)
    try:
        libc = confstr("CS_GNU_LIBC_VERSION") if confstr is not None else None
    except (ValueError, OSError):
        libc = None
    if not libc or not libc.startswith("glibc"):
        return None
    try:
        function = getattr(ctypes.CDLL(None), "mallopt", None)
    except OSError:
        return None
    if function is None:
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_int)
    function.restype = ctypes.c_int
    return function  # type: ignore[no-any-return]


def hold_mmap_threshold(
    threshold_bytes: int = MMAP_THRESHOLD_BYTES,
    environ: Mapping[str, str] | None = None,
    mallopt: Callable[[], Mallopt | None] = glibc_mallopt,
) -> ThresholdResult:
    """Fix glibc's mmap threshold at ``threshold_bytes`` (its dynamic rise off), unless
    the environment sets it or the C library is not glibc. Never raises."""
    if set_outside(os.environ if environ is None else environ):
        return ThresholdResult(False, f"mmap threshold left to the environment ({ENV_VARIABLE})")
    function = mallopt()
    if function is None:
        return ThresholdResult(False, "not glibc: the C allocator left as it is")
    if function(M_MMAP_THRESHOLD, threshold_bytes) != 1:
        return ThresholdResult(False, f"glibc refused an mmap threshold of {threshold_bytes} B")
    return ThresholdResult(
        True, f"blocks of {threshold_bytes // 1024} KiB and more go back to the system when freed"
    )
