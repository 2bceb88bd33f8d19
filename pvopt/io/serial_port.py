"""The serial port of the TIC interface (pyserial), 7E1 at the mode's speed.

A read returns as soon as bytes are there (low latency for the regulation) and at the
latest after ``timeout_s`` with ``b""``. A vanished device (USB unplugged, pty closed)
raises :class:`PortLost`; the daemon closes and reopens with back-off.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import termios

import serial

from pvopt.tic import Mode

_LOG = logging.getLogger(__name__)


class PortLost(OSError):
    """The port could not be opened or stopped working."""


class TicPort:
    """An open TIC serial port."""

    def __init__(self, device: str, mode: Mode, timeout_s: float = 0.5) -> None:
        self.device = device
        self.mode = mode
        try:
            self._serial = self._open(device, mode, timeout_s, serial.SEVENBITS, serial.PARITY_EVEN)
        except termios.error as exc:
            if exc.args[0] != errno.EINVAL:
                raise PortLost(f"cannot open {device}: {exc}") from exc
            # The device cannot do 7 bits + parity (some UARTs, USB adapters and ptys).
            # 8N1 has the same 10-bit character: the decoder masks the parity bit and
            # checks every checksum, so nothing wrong gets through.
            _LOG.warning("%s refuses 7E1 (%s): reading it 8N1, parity bit masked", device, exc)
            try:
                self._serial = self._open(
                    device, mode, timeout_s, serial.EIGHTBITS, serial.PARITY_NONE
                )
            except (serial.SerialException, OSError, termios.error) as exc2:
                raise PortLost(f"cannot open {device}: {exc2}") from exc2
        except (serial.SerialException, OSError) as exc:
            raise PortLost(f"cannot open {device}: {exc}") from exc

    @staticmethod
    def _open(
        device: str, mode: Mode, timeout_s: float, bytesize: int, parity: str
    ) -> serial.Serial:
        return serial.Serial(
            device,
            baudrate=mode.baudrate,
            bytesize=bytesize,
            parity=parity,
            stopbits=serial.STOPBITS_ONE,
            timeout=timeout_s,
        )

    def read(self) -> bytes:
        """The bytes available now, waiting up to the timeout for the first one."""
        try:
            first = self._serial.read(1)
            if not first:
                return b""
            waiting = self._serial.in_waiting
            return first + self._serial.read(waiting) if waiting else first
        except (serial.SerialException, OSError, termios.error) as exc:
            raise PortLost(f"{self.device}: {exc}") from exc

    def close(self) -> None:
        """Close, ignoring errors of an already vanished device."""
        with contextlib.suppress(serial.SerialException, OSError):
            self._serial.close()
