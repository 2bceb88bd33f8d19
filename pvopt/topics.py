"""Every MQTT topic pvopt reads or writes, spelled once (docs/design.md, "MQTT").

Names kept from the original photovoltaic_optimizer: ``tic/<LABEL>``, ``scr/<id>/…``,
``regulation/…``; the availability topics are pvopt's own. Device command topics
(``scr/<id>/in``, ``wifi_plug/<id>/in``, Tasmota, Shelly) belong to each device's
preset: :mod:`pvopt.equipment.presets`.
"""

from __future__ import annotations

#: Every numeric label of every valid group: ``tic/<LABEL>``, a decimal integer.
TIC_PREFIX = "tic/"
#: One frame as JSON (``time``, ``mode``, ``values``, ``horodates``, ``rejected_groups``).
FRAME = "tic/frame"
#: teleinfo's decoder counts every few seconds (JSON; :mod:`pvopt.tic.counts`).
TIC_STATS = "tic/stats"
SINSTS = "tic/SINSTS"
SINSTI = "tic/SINSTI"
#: Derived by teleinfo: ERQ1 + ERQ2 + ERQ3 + ERQ4 (VArh); not a meter label.
ERQT = "tic/ERQT"
#: Availability (``online`` / ``offline``, retained, last will) of each daemon.
TELEINFO_STATUS = "pvopt/teleinfo/status"
REGULATION_STATUS = "pvopt/regulation/status"
WEB_STATUS = "pvopt/web/status"
#: The Influx writer's state of each daemon that writes the database (JSON, retained;
#: :mod:`pvopt.database_state`): reachable, points waiting, points dropped.
TELEINFO_DATABASE = "pvopt/teleinfo/database"
REGULATION_DATABASE = "pvopt/regulation/database"
#: The regulation's decision of each evaluation, as JSON.
DECISION = "regulation/status"
#: Force / unforce an equipment by name (JSON).
REGULATION_CONTROL = "regulation/control"
#: Reload ``equipment_config.yml`` (payload ``config``; QoS 1, never retained): the
#: regulation re-reads and validates the file, keeps its counters, re-plans.
REGULATION_RELOAD = "regulation/reload"
#: What the regulation runs: the file's version, when loaded, its loads, and the last
#: reload's result and errors (JSON, retained; :func:`pvopt.regulation.reload.config_document`).
REGULATION_CONFIG = "regulation/config"
#: The expected PV power, slot by slot (JSON, retained; :mod:`pvopt.forecast`).
FORECAST = "regulation/forecast"
#: Whether a local date has an EJP mobile peak, announced the day before (JSON
#: ``{"date": "YYYY-MM-DD", "ejp": true}``, retained; :mod:`pvopt.ejp`).
EJP = "regulation/ejp"
#: Per equipment: probe readings (°C) and manual controls (``ON``, ``OFF``, ``AUTO``…).
SCR_TEMPERATURES = "scr/+/temperature"
SCR_CONTROLS = "scr/+/control"

#: What ``pvopt web`` subscribes to for its live page (:mod:`pvopt.web.live`): the frame
#: (grid power, tariff labels; the per-label topics repeat it), the regulation's decisions
#: and its forecast, the probes, both daemons' availability and their database's state,
#: and teleinfo's decoder counts (the meter view).
WEB_SUBSCRIPTIONS = (
    FRAME,
    DECISION,
    FORECAST,
    SCR_TEMPERATURES,
    TELEINFO_STATUS,
    REGULATION_STATUS,
    TELEINFO_DATABASE,
    REGULATION_DATABASE,
    TIC_STATS,
)


def label_topic(label: str) -> str:
    """The topic of a TIC label (``+`` is a wildcard in MQTT, so it is spelled out)."""
    return TIC_PREFIX + label.replace("+", "_PLUS_")


def scr_control(equipment_id: str) -> str:
    """``scr/<id>/control`` of one equipment."""
    return SCR_CONTROLS.replace("+", equipment_id)


def equipment_id(topic: str) -> str:
    """The ``<id>`` of an ``scr/<id>/…`` topic."""
    return topic.split("/")[1]
