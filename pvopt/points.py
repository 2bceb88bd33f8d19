"""A time-series point, as the daemons produce them and the Influx writer stores them.

Pure data: the daemons build points, :mod:`pvopt.io.influx` is the only code that sends them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

FieldValue = int | float | str | bool


@dataclass(frozen=True, slots=True)
class Point:
    """One InfluxDB point. ``time`` must be timezone-aware (stored in UTC, ns precision)."""

    measurement: str
    fields: dict[str, FieldValue]
    time: datetime
    tags: dict[str, str] | None = None

    def __post_init__(self) -> None:
        if self.time.tzinfo is None:
            raise ValueError("Point.time must be timezone-aware")
        if not self.fields:
            raise ValueError("a point needs at least one field")
