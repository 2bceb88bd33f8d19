"""Environment configuration (docs/design.md §3): the one module that reads the environment.

Names are kept from the original photovoltaic_optimizer. Everything is validated at
start-up: a bad value is a :class:`ConfigError` naming the variable, and the CLI exits 2.
There are no default credentials; secrets are kept out of ``repr`` and logs.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pvopt.web.proxies import Network, parse_trusted

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
TELEINFO_MODES = ("auto", "standard", "historic")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """A configuration value is missing or invalid (exit code 2)."""


@dataclass(frozen=True)
class MqttSettings:
    """How to reach the MQTT broker."""

    host: str = "localhost"
    port: int = 1883
    keepalive_s: int = 120
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    ca_file: Path | None = None


@dataclass(frozen=True)
class InfluxSettings:
    """How to reach InfluxDB 1.x."""

    host: str = "localhost"
    port: int = 8086
    database: str = "teleinfo"
    username: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class OpenMeteoSettings:
    """The built-in Open-Meteo client (``FORECAST_OPENMETEO=on``): where the panels are,
    how they face, what they produce (docs/design.md §3)."""

    latitude: float
    longitude: float
    peak_w: float
    #: Degrees from horizontal (0 flat, 90 vertical).
    tilt_deg: float = 30.0
    #: Open-Meteo's convention: 0 south, −90 east, 90 west, ±180 north.
    azimuth_deg: float = 0.0
    #: AC output over the STC rating × irradiance/1000 (losses, temperature, soiling).
    performance_ratio: float = 0.85
    inverter_w: float | None = None
    base_url: str = "https://api.open-meteo.com"
    interval_s: float = 3 * 3600.0


@dataclass(frozen=True)
class ForecastSettings:
    """The PV forecast: how old it may be, and the optional Open-Meteo client."""

    max_age_s: float = 24 * 3600.0
    openmeteo: OpenMeteoSettings | None = None


@dataclass(frozen=True)
class WebSettings:
    """``pvopt web``: where it listens, where the password hash is, TLS."""

    #: "" listens on every interface (the LAN); 127.0.0.1 behind a reverse proxy.
    host: str = ""
    port: int = 8080
    #: The password hash (``pvopt web --set-password``); default beside PVOPT_CONFIG.
    password_file: Path = Path("web-password")
    cert: Path | None = None
    key: Path | None = None
    #: Cookies marked Secure: with cert/key, or behind an HTTPS reverse proxy.
    secure_cookies: bool = False
    #: Reverse proxies whose X-Forwarded-For names the client (PVOPT_WEB_TRUSTED_PROXIES).
    trusted_proxies: tuple[Network, ...] = ()


@dataclass(frozen=True)
class Settings:
    """Everything the daemons take from the environment."""

    mqtt: MqttSettings = field(default_factory=MqttSettings)
    influx: InfluxSettings = field(default_factory=InfluxSettings)
    teleinfo_port: str = "/dev/ttyAMA0"
    teleinfo_mode: str = "auto"
    config_path: Path = Path("equipment_config.yml")
    state_dir: Path = Path("/var/lib/pvopt")
    log_level: str = "INFO"
    hc_start: time = time(2, 5)
    hc_end: time = time(6, 50)
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Paris"))
    ha_discovery: bool = False
    ha_discovery_prefix: str = "homeassistant"
    forecast: ForecastSettings = field(default_factory=ForecastSettings)
    web: WebSettings = field(default_factory=WebSettings)


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}: expected a number from {low} to {high}, got {value}")
    return value


def _opt_float(env: Mapping[str, str], name: str, low: float, high: float) -> float | None:
    raw = env.get(name, "").strip()
    if not raw:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}: expected a number, got {raw!r}") from None
    if not low <= value <= high:  # False for NaN
        raise ConfigError(f"{name}: expected a number from {low:g} to {high:g}, got {raw}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    value = _opt_float(env, name, low, high)
    return default if value is None else value


def _required(env: Mapping[str, str], name: str, low: float, high: float, why: str) -> float:
    value = _opt_float(env, name, low, high)
    if value is None:
        raise ConfigError(f"{name}: required {why}")
    return value


def _forecast(env: Mapping[str, str]) -> ForecastSettings:
    max_age_h = _float(env, "FORECAST_MAX_AGE_H", ForecastSettings.max_age_s / 3600.0, 1.0, 168.0)
    if not _bool(env, "FORECAST_OPENMETEO", False):
        return ForecastSettings(max_age_s=max_age_h * 3600.0)
    why = "with FORECAST_OPENMETEO=on"
    url = _str(env, "FORECAST_OPENMETEO_URL", OpenMeteoSettings.base_url).rstrip("/")
    if not url.startswith(("https://", "http://")):
        raise ConfigError(f"FORECAST_OPENMETEO_URL: expected an http(s):// URL, got {url!r}")
    interval_h = _float(
        env, "FORECAST_OPENMETEO_INTERVAL_H", OpenMeteoSettings.interval_s / 3600.0, 1.0, 24.0
    )
    tilt = _float(env, "FORECAST_TILT", OpenMeteoSettings.tilt_deg, 0.0, 90.0)
    azimuth = _float(env, "FORECAST_AZIMUTH", OpenMeteoSettings.azimuth_deg, -180.0, 180.0)
    ratio = _float(env, "FORECAST_PERFORMANCE_RATIO", OpenMeteoSettings.performance_ratio, 0.1, 1.0)
    openmeteo = OpenMeteoSettings(
        latitude=_required(env, "FORECAST_LATITUDE", -90.0, 90.0, why),
        longitude=_required(env, "FORECAST_LONGITUDE", -180.0, 180.0, why),
        peak_w=_required(env, "FORECAST_PEAK_W", 1.0, 100_000.0, why),
        tilt_deg=tilt,
        azimuth_deg=azimuth,
        performance_ratio=ratio,
        inverter_w=_opt_float(env, "FORECAST_INVERTER_W", 1.0, 100_000.0),
        base_url=url,
        interval_s=interval_h * 3600.0,
    )
    return ForecastSettings(max_age_s=max_age_h * 3600.0, openmeteo=openmeteo)


def _str(env: Mapping[str, str], name: str, default: str) -> str:
    return env.get(name, "").strip() or default


def _opt(env: Mapping[str, str], name: str) -> str | None:
    return env.get(name) or None


def _clock(env: Mapping[str, str], name: str, default: time) -> time:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        hours, minutes = raw.split(":")
        return time(int(hours), int(minutes))
    except ValueError:
        raise ConfigError(f"{name}: expected a time of day HH:MM, got {raw!r}") from None


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise ConfigError(f"{name}: expected on or off, got {raw!r}")


def _topic_prefix(env: Mapping[str, str], name: str, default: str) -> str:
    value = _str(env, name, default)
    levels = value.split("/")
    if any(not level or any(c in level for c in "+#\0") for level in levels):
        raise ConfigError(
            f"{name}: expected an MQTT topic without wildcards or empty levels, got {value!r}"
        )
    return value


def _tls(env: Mapping[str, str]) -> tuple[bool, Path | None]:
    raw = env.get("MQTT_TLS", "").strip()
    if raw.lower() in _FALSE:
        return False, None
    if raw.lower() in _TRUE:
        return True, None
    path = Path(raw)
    if not path.is_file():
        raise ConfigError(
            f"MQTT_TLS: expected on/off or the path of a CA certificate file, got {raw!r}"
        )
    return True, path


def _web(env: Mapping[str, str], config_path: Path) -> WebSettings:
    cert, key = _opt(env, "PVOPT_WEB_CERT"), _opt(env, "PVOPT_WEB_KEY")
    if bool(cert) != bool(key):
        raise ConfigError("PVOPT_WEB_CERT and PVOPT_WEB_KEY go together (TLS needs both)")
    default_file = config_path.parent / "web-password"
    return WebSettings(
        host=env.get("PVOPT_WEB_HOST", "").strip(),
        port=_int(env, "PVOPT_WEB_PORT", 8080, 1, 65535),
        password_file=Path(_str(env, "PVOPT_WEB_PASSWORD_FILE", str(default_file))),
        cert=Path(cert) if cert else None,
        key=Path(key) if key else None,
        secure_cookies=_bool(env, "PVOPT_WEB_SECURE_COOKIES", bool(cert)),
        trusted_proxies=_networks(env, "PVOPT_WEB_TRUSTED_PROXIES"),
    )


def _networks(env: Mapping[str, str], name: str) -> tuple[Network, ...]:
    try:
        return parse_trusted(env.get(name, ""))
    except ValueError as exc:
        raise ConfigError(f"{name}: {exc} (a comma list of addresses or networks)") from None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate the environment (``os.environ`` by default)."""
    env = os.environ if env is None else env
    tls, ca_file = _tls(env)
    user, password = _opt(env, "MQTT_USERNAME"), _opt(env, "MQTT_PASSWORD")
    if password and not user:
        raise ConfigError("MQTT_PASSWORD is set but MQTT_USERNAME is not")
    mqtt = MqttSettings(
        host=_str(env, "MQTT_BROKER_HOST", "localhost"),
        port=_int(env, "MQTT_BROKER_PORT", 8883 if tls else 1883, 1, 65535),
        keepalive_s=_int(env, "MQTT_KEEPALIVE", 120, 5, 65535),
        username=user,
        password=password,
        tls=tls,
        ca_file=ca_file,
    )
    influx_user, influx_password = _opt(env, "INFLUXDB_USERNAME"), _opt(env, "INFLUXDB_PASSWORD")
    if influx_password and not influx_user:
        raise ConfigError("INFLUXDB_PASSWORD is set but INFLUXDB_USERNAME is not")
    influx = InfluxSettings(
        host=_str(env, "INFLUXDB_HOST", "localhost"),
        port=_int(env, "INFLUXDB_PORT", 8086, 1, 65535),
        database=_str(env, "INFLUXDB_DATABASE", "teleinfo"),
        username=influx_user,
        password=influx_password,
    )
    mode = _str(env, "TELEINFO_MODE", "auto").lower()
    if mode not in TELEINFO_MODES:
        raise ConfigError(
            f"TELEINFO_MODE: expected one of {', '.join(TELEINFO_MODES)}, got {mode!r}"
        )
    level = _str(env, "PVOPT_LOG_LEVEL", "INFO").upper()
    if level not in LOG_LEVELS:
        raise ConfigError(
            f"PVOPT_LOG_LEVEL: expected one of {', '.join(LOG_LEVELS)}, got {level!r}"
        )
    tz_name = _str(env, "TZ", "Europe/Paris").lstrip(":")
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"TZ: unknown time zone {tz_name!r}") from None
    config_path = Path(_str(env, "PVOPT_CONFIG", "equipment_config.yml"))
    return Settings(
        mqtt=mqtt,
        influx=influx,
        teleinfo_port=_str(env, "TELEINFO_PORT", "/dev/ttyAMA0"),
        teleinfo_mode=mode,
        config_path=config_path,
        state_dir=Path(_str(env, "PVOPT_STATE_DIR", "/var/lib/pvopt")),
        log_level=level,
        hc_start=_clock(env, "HC_START_TIME", time(2, 5)),
        hc_end=_clock(env, "HC_END_TIME", time(6, 50)),
        tz=tz,
        ha_discovery=_bool(env, "HA_DISCOVERY", False),
        ha_discovery_prefix=_topic_prefix(env, "HA_DISCOVERY_PREFIX", "homeassistant"),
        forecast=_forecast(env),
        web=_web(env, config_path),
    )
