"""The built-in Open-Meteo client (``FORECAST_OPENMETEO=on``, off by default).

Open-Meteo needs no key. Every ``interval_s`` (and at start) this asks for the 15-minute
``global_tilted_irradiance`` of the configured plane, converts it to PV power
(:func:`pvopt.forecast.from_openmeteo`) and publishes the documented forecast document on
``regulation/forecast``, retained: the regulation takes it back through its subscription,
validated like any other publisher's. Standard library only (``urllib``).

An HTTP error, a timeout or a bad answer is logged (at most once a minute, per kind) and
retried after ``RETRY_S``; it never stops the daemon.
"""

from __future__ import annotations

import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime

from pvopt.config import OpenMeteoSettings
from pvopt.forecast import PvForecast, from_openmeteo
from pvopt.logthrottle import Throttle
from pvopt.regulation.inputs import InputError, load_json

_LOG = logging.getLogger(__name__)

TIMEOUT_S = 30.0
#: After a failed fetch, the next attempt (not before the next interval if that is sooner).
RETRY_S = 600.0
#: A forecast the broker could not take yet (not connected) is offered again this often.
PUBLISH_RETRY_S = 30.0
#: Today (from 00:00 UTC), tomorrow and the day after: the morning draw of tomorrow is
#: always covered, whatever the hour of the fetch.
FORECAST_DAYS = 3
#: A larger answer is not read (three days of 15-minute values are about 10 kB).
MAX_ANSWER_BYTES = 1_000_000


def request_url(settings: OpenMeteoSettings) -> str:
    """The forecast request: 15-minute tilted irradiance, times as Unix seconds (UTC)."""
    query = urllib.parse.urlencode(
        {
            "latitude": f"{settings.latitude:.4f}",
            "longitude": f"{settings.longitude:.4f}",
            "minutely_15": "global_tilted_irradiance",
            "tilt": f"{settings.tilt_deg:g}",
            "azimuth": f"{settings.azimuth_deg:g}",
            "timeformat": "unixtime",
            "forecast_days": FORECAST_DAYS,
        }
    )
    return f"{settings.base_url}/v1/forecast?{query}"


def fetch(settings: OpenMeteoSettings, now: datetime, timeout_s: float = TIMEOUT_S) -> PvForecast:
    """One forecast, issued ``now``. Raises :class:`InputError` for a bad answer and
    :class:`OSError` (``urllib.error.URLError``, a timeout) when the service cannot be
    reached or answers an HTTP error."""
    request = urllib.request.Request(request_url(settings), headers={"User-Agent": "pvopt"})
    with urllib.request.urlopen(request, timeout=timeout_s) as answer:
        body = answer.read(MAX_ANSWER_BYTES + 1)
    if len(body) > MAX_ANSWER_BYTES:
        raise InputError(f"open-meteo: answer larger than {MAX_ANSWER_BYTES} bytes")
    return from_openmeteo(
        load_json("open-meteo", body),
        now,
        settings.peak_w,
        settings.performance_ratio,
        settings.inverter_w,
    )


class OpenMeteoPublisher:
    """A thread: fetch, then ``publish(document)`` (True once the broker took it), at start
    and every ``interval_s``."""

    def __init__(
        self,
        settings: OpenMeteoSettings,
        publish: Callable[[str], bool],
        stop: threading.Event,
    ) -> None:
        self.settings = settings
        self._publish = publish
        self._stop = stop
        self._errors = Throttle(_LOG, logging.WARNING)
        self._thread = threading.Thread(target=self._run, name="openmeteo", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout_s: float) -> None:
        self._thread.join(timeout_s)

    def once(self) -> PvForecast | None:
        """One fetch; None (logged, rate-limited) when it failed."""
        try:
            return fetch(self.settings, datetime.now(UTC))
        except urllib.error.HTTPError as exc:
            self._report("http", f"open-meteo: HTTP {exc.code} {exc.reason}")
        except (OSError, InputError) as exc:  # URLError and timeouts are OSErrors
            self._report(type(exc).__name__, f"open-meteo: no forecast: {exc}")
        return None

    def _report(self, key: str, text: str) -> None:
        now = time.monotonic()
        self._errors.flush(now)
        self._errors.report(key, text, now)

    def _run(self) -> None:
        while not self._stop.is_set():
            forecast = self.once()
            if forecast is None:
                self._stop.wait(min(RETRY_S, self.settings.interval_s))
                continue
            document = forecast.to_json()
            while not self._publish(document):
                self._report("publish", "open-meteo: broker not connected, forecast kept")
                if self._stop.wait(PUBLISH_RETRY_S):
                    return
            _LOG.info("open-meteo: %d slots of forecast published", len(forecast.slots))
            self._stop.wait(self.settings.interval_s)
