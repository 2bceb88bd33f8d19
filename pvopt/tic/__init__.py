"""Pure Linky TIC decoding (no serial, no clock): see :mod:`pvopt.tic.decoder`."""

from pvopt.tic.decoder import (
    DecoderStats,
    Frame,
    FrameDecoder,
    Mode,
    checksum,
    detect_mode,
    parse_group,
)

__all__ = [
    "DecoderStats",
    "Frame",
    "FrameDecoder",
    "Mode",
    "checksum",
    "detect_mode",
    "parse_group",
]
