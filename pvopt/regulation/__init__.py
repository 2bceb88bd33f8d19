"""The pure regulation core: snapshot and time in, decisions out (no I/O, no clock)."""
