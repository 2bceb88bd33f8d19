"""The reading side of the InfluxDB adapter: InfluxQL statements in, their results out.

For ``pvopt web``'s history (the statements are built by :mod:`pvopt.web.history`). It
speaks InfluxDB 1.x's HTTP API (``GET /query``, ``epoch=s``) with the standard library,
the same :class:`~pvopt.config.InfluxSettings` as the writer (:mod:`pvopt.io.influx`):
importing the ``influxdb`` client would cost ``pvopt web`` 7 MB of memory (``requests``,
``dateutil``, ``msgpack``; 50 MB where pandas is installed) against its 60 MB budget,
for one GET. Blocking: the server calls it in a worker thread, with a timeout.

Every failure is an :class:`InfluxUnavailable` with a short reason for the page (the
database unreachable, slow, refusing the credentials, or answering an error); nothing
secret is in it.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence

from pvopt.config import InfluxSettings

#: An answer larger than this is refused (31 days of hourly buckets are ~150 kB).
MAX_ANSWER_BYTES = 4_000_000


class InfluxUnavailable(Exception):
    """The database cannot answer now; ``str()`` is the reason shown on the page."""


class InfluxReader:
    """Runs InfluxQL statements on the configured database, one HTTP request per call."""

    def __init__(self, settings: InfluxSettings, timeout_s: float = 5.0) -> None:
        self.settings = settings
        self.timeout_s = timeout_s
        self._url = f"http://{settings.host}:{settings.port}/query"
        self._headers = {"Accept": "application/json"}
        if settings.username is not None:
            secret = f"{settings.username}:{settings.password or ''}".encode()
            self._headers["Authorization"] = "Basic " + base64.b64encode(secret).decode("ascii")

    @property
    def where(self) -> str:
        """The database's address, for the log and the page (no credentials)."""
        return f"{self.settings.host}:{self.settings.port}/{self.settings.database}"

    def query(self, statements: Sequence[str]) -> list[object]:
        """Each statement's result (a JSON object with its ``series``), in order."""
        results = self._get({"db": self.settings.database, "q": ";".join(statements), "epoch": "s"})
        errors = [
            r["error"] for r in results if isinstance(r, dict) and isinstance(r.get("error"), str)
        ]
        if not errors:
            return results
        first = next((e for e in errors if e != "not executed"), None)
        if first is None and not self._database_exists():
            # InfluxDB 1.6 says only "not executed" when the database is missing.
            first = f"no database {self.settings.database} yet (nothing was recorded)"
        raise InfluxUnavailable(f"InfluxDB: {(first or errors[0])[:200]}")

    def _database_exists(self) -> bool:
        """Whether ``SHOW DATABASES`` lists the configured one (True when unsure)."""
        try:
            (result,) = self._get({"q": "SHOW DATABASES"})
        except (InfluxUnavailable, ValueError):
            return True
        for series in result.get("series") or [] if isinstance(result, dict) else []:
            rows = series.get("values") if isinstance(series, dict) else None
            if isinstance(rows, list) and [self.settings.database] in rows:
                return True
        return False

    def _get(self, query: dict[str, str]) -> list[object]:
        """``GET /query`` with ``query``: the ``results`` list of the answer."""
        request = urllib.request.Request(
            f"{self._url}?{urllib.parse.urlencode(query)}", headers=self._headers
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                raw = response.read(MAX_ANSWER_BYTES + 1)
        except urllib.error.HTTPError as exc:
            detail = _error_of(exc.read(MAX_ANSWER_BYTES))
            exc.close()
            if exc.code in (401, 403):
                raise InfluxUnavailable(
                    f"InfluxDB refused pvopt's credentials (HTTP {exc.code})"
                ) from None
            raise InfluxUnavailable(f"InfluxDB answered HTTP {exc.code}: {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise InfluxUnavailable(f"InfluxDB unreachable at {self.where} ({reason})") from None
        if len(raw) > MAX_ANSWER_BYTES:
            raise InfluxUnavailable("InfluxDB's answer is too large")
        try:
            doc = json.loads(raw)
        except ValueError:
            raise InfluxUnavailable("InfluxDB's answer is not JSON") from None
        results = doc.get("results") if isinstance(doc, dict) else None
        if not isinstance(results, list):
            raise InfluxUnavailable(f"InfluxDB's answer has no results: {_error_of(raw)}")
        return results


def _error_of(raw: bytes) -> str:
    """InfluxDB's ``{"error": …}`` text, shortened, or a placeholder."""
    try:
        doc = json.loads(raw)
    except ValueError:
        return "no reason given"
    error = doc.get("error") if isinstance(doc, dict) else None
    return error[:200] if isinstance(error, str) else "no reason given"
