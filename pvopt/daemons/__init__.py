"""Composition roots: each daemon wires the pure core to the I/O adapters."""
