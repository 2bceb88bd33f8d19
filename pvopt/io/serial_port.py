"""The serial port of the TIC interface (pyserial), 7E1 at the mode's speed.

A read returns as soon as bytes are there (low latency for the regulation) and at the
latest after ``timeout_s`` with ``b""``. A vanished device (USB unplugged, pty closed)
raises :class:`PortLost`; the daemon closes and reopens with back-off.
"""

from __future__ import annotations

import contextlib

import serial

from pvopt.tic import Mode


class PortLost(OSError):
    """The port could not be opened or stopped working."""


class TicPort:
    """An open TIC serial port."""

    def __init__(self, device: str, mode: Mode, timeout_s: float = 0.5) -> None:
        self.device = device
        self.mode = mode
        try:
            self._serial = serial.Serial(
                device,
                baudrate=mode.baudrate,
                bytesize=serial.SEVENBITS,
                parity=serial.PARITY_EVEN,
                stopbits=serial.STOPBITS_ONE,
                timeout=timeout_s,
            )
        except (serial.SerialException, OSError) as exc:
            raise PortLost(f"cannot open {device}: {exc}") from exc

    def read(self) -> bytes:
        """The bytes available now, waiting up to the timeout for the first one."""
        try:
            first = self._serial.read(1)
            if not first:
                return b""
            waiting = self._serial.in_waiting
            return first + self._serial.read(waiting) if waiting else first
        except (serial.SerialException, OSError) as exc:
            raise PortLost(f"{self.device}: {exc}") from exc

    def close(self) -> None:
        """Close, ignoring errors of an already vanished device."""
        with contextlib.suppress(serial.SerialException, OSError):
            self._serial.close()
