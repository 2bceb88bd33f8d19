"""The meter view (pvopt/web/meter.py, pvopt/tic/status.py): real frames, built with the
TIC encoder, decoded by the real decoder and published as teleinfo does, become the
document of ``GET /api/meter``; STGE bit patterns decode as CPT_54E §6.2.3.14 says."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime
from importlib import resources

import pytest
from test_web_live import STALE_S, T0, at, decode
from test_web_live import frame_payload as payload

from pvopt import topics
from pvopt.tic import Mode as TicMode
from pvopt.tic.counts import TicCounts, counts_document
from pvopt.tic.encoder import encode_frame, encode_group, historic_frame, linky_standard_frame
from pvopt.tic.labels import HISTORIC_LABELS, STANDARD_LABELS
from pvopt.tic.status import STGE_FIELDS, decode_status_register
from pvopt.tic.tariff import Colour, decode_stge
from pvopt.web import i18n
from pvopt.web.live import Live
from pvopt.web.meter import meter_document


def meter(live: Live, now: datetime) -> dict[str, object]:
    doc = meter_document(live, now)
    json.dumps(doc, allow_nan=False)  # what the server sends: plain JSON
    assert doc["time"] == now.isoformat()
    m = doc["meter"]
    assert isinstance(m, dict)
    return m


def rows(m: dict[str, object]) -> dict[str, dict[str, object]]:
    labels = m["labels"]
    assert isinstance(labels, list)
    return {row["label"]: row for row in labels}


def stge_fields(m: dict[str, object]) -> dict[str, dict[str, object]]:
    stge = m["stge"]
    assert isinstance(stge, dict)
    return {f["name"]: f for f in stge["fields"]}


HISTORIC = {
    "ADCO": "031762120851",
    "OPTARIF": "BBR(",
    "ISOUSC": "45",
    "BBRHCJB": "012345678",
    "BBRHPJB": "023456789",
    "PTEC": "HPJB",
    "DEMAIN": "ROUG",
    "IINST": "008",
    "IMAX": "090",
    "PAPP": "01870",
    "HHPHC": "A",
    "MOTDETAT": "000000",
}


def test_nothing_before_the_first_frame() -> None:
    assert meter_document(Live(started=T0), at(5)) == {
        "time": at(5).isoformat(),
        "meter": None,
        "decoder": None,
    }


def test_every_label_of_a_standard_frame_with_its_unit_meaning_and_horodate() -> None:
    live = Live(started=T0)
    frame = decode(linky_standard_frame(date="E260614120000", sinsts_va=0, sinsti_va=1834), at(1))
    assert live.update(topics.FRAME, payload(frame), at(1))
    m = meter(live, at(1.5))
    shown = rows(m)
    # every label: DATE (no data, its value is its horodate) first, then the frame's order
    assert list(shown) == ["DATE", *frame.values]
    assert shown["DATE"]["value"] == "" and shown["DATE"]["unit"] == ""
    for label, value in frame.values.items():
        spec = STANDARD_LABELS[label]
        assert shown[label]["value"] == value
        assert (shown[label]["unit"], shown[label]["description"]) == (spec.unit, spec.description)
        assert shown[label]["known"] is True
    assert shown["SINSTI"]["value"] == 1834 and shown["SINSTI"]["unit"] == "VA"
    assert shown["EAST"]["unit"] == "Wh"
    for label, when in frame.horodates.items():
        assert shown[label]["horodate"] == when.isoformat()
    assert shown["DATE"]["horodate"] is not None
    assert m["mode"] == "standard"
    assert m["ignored_labels"] == 0
    assert (m["age_s"], m["stale"], m["frames_per_minute"]) == (0.5, False, 1)
    assert stge_fields(m)["producer"]["code"] == "producer"  # the encoder's producer STGE


def test_a_historic_frame_uses_the_historic_table_and_has_no_stge() -> None:
    live = Live(started=T0)
    frame = decode(historic_frame(HISTORIC), at(1), TicMode.HISTORIC)
    live.update(topics.FRAME, payload(frame), at(1))
    m = meter(live, at(2))
    shown = rows(m)
    assert list(shown) == list(HISTORIC)
    assert shown["PAPP"] == {
        "label": "PAPP",
        "value": 1870,
        "unit": "VA",
        "description": HISTORIC_LABELS["PAPP"].description,
        "known": True,
        "horodate": None,
    }
    assert shown["PTEC"]["value"] == "HPJB" and shown["ISOUSC"]["unit"] == "A"
    assert m["mode"] == "historic" and m["stge"] is None


def test_rejected_groups_per_frame_and_since_start_and_the_frame_rate() -> None:
    live = Live(started=T0)
    bad = bytearray(encode_group("IINST", "009", TicMode.HISTORIC))
    bad[-2] = ord("!") if bad[-2] != ord("!") else ord('"')  # a wrong checksum
    groups = [encode_group(k, v, TicMode.HISTORIC) for k, v in HISTORIC.items()]
    damaged = encode_frame([*groups[:3], bytes(bad), bytes(bad), *groups[3:]])
    for n in range(3):
        frame = decode(damaged, at(n * 2), TicMode.HISTORIC)
        assert frame.rejected_groups == 2
        live.update(topics.FRAME, payload(frame), at(n * 2))
    clean = decode(historic_frame(HISTORIC), at(6), TicMode.HISTORIC)
    live.update(topics.FRAME, payload(clean), at(6))
    m = meter(live, at(6))
    assert (m["rejected_groups"], m["rejected_groups_total"]) == (0, 6)
    assert m["frames_per_minute"] == 4
    assert meter(live, at(61))["frames_per_minute"] == 3  # the frame of 0 s is out
    assert meter(live, at(65))["frames_per_minute"] == 1
    assert meter(live, at(66.5))["frames_per_minute"] == 0


def test_teleinfos_own_counts_show_what_never_reaches_tic_frame() -> None:
    live = Live(started=T0)
    assert meter_document(live, at(0))["decoder"] is None  # not said yet: nothing invented
    counts = TicCounts("standard", 120, 4, 9, 7, 2, 48)
    # a meter whose frames are all rejected: no frame on the page, the decoder says why
    assert live.update(topics.TIC_STATS, counts_document(counts, at(0)).encode(), at(0.1)) is False
    doc = meter_document(live, at(5))
    assert doc["meter"] is None
    assert doc["decoder"] == {
        "mode": "standard",
        "frames_accepted": 120,
        "frames_rejected": 4,
        "groups_rejected": 9,
        "checksum_errors": 7,
        "malformed_groups": 2,
        "frames_per_minute": 48,
        "time": T0.isoformat(),
        "age_s": 5.0,
        "stale": False,
    }
    decoder = meter_document(live, at(31))["decoder"]
    assert isinstance(decoder, dict) and decoder["stale"] is True  # three messages missed
    assert decoder["frames_accepted"] == 120  # kept, never zeroed


def test_a_stale_frame_keeps_its_labels_and_says_its_age() -> None:
    live = Live(started=T0)
    live.update(
        topics.FRAME, payload(decode(historic_frame(HISTORIC), at(0), TicMode.HISTORIC)), at(0)
    )
    m = meter(live, at(STALE_S + 15))
    assert m["stale"] is True and m["age_s"] == STALE_S + 15
    assert rows(m)["PAPP"]["value"] == 1870  # the value stays: stale, never zero
    assert meter(live, at(STALE_S))["stale"] is False


def test_labels_that_are_not_tic_labels_are_left_out_and_counted() -> None:
    live = Live(started=T0)
    frame = decode(historic_frame(HISTORIC), at(1), TicMode.HISTORIC)
    doc = json.loads(payload(frame))
    doc["values"].update(
        {"<script>": "x", "HUGE": 10**15, "LIST": [1], "FLAG": True, "LONG": "A" * 200}
    )
    doc["values"]["ZZTOP"] = "an unknown label"
    live.update(topics.FRAME, json.dumps(doc).encode(), at(1))
    m = meter(live, at(1))
    shown = rows(m)
    assert m["ignored_labels"] == 5
    assert shown["ZZTOP"]["known"] is False and shown["ZZTOP"]["unit"] == ""
    assert set(shown) == {*HISTORIC, "ZZTOP"}


# -- STGE against the spec table (CPT_54E §6.2.3.14; research/tic.md §3) -------------------


def decoded(text: str) -> dict[str, tuple[int, str]]:
    fields = decode_status_register(text)
    assert fields is not None
    return {f.field.name: (f.value, f.code) for f in fields}


def test_the_field_table_covers_every_bit_but_the_unused_ones_once() -> None:
    used = [bit for f in STGE_FIELDS for bit in range(f.first, f.first + f.width)]
    assert sorted(used) == [b for b in range(32) if b not in (5, 18)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # openHAB single-phase producer: injecting, supplier index 1, standard TIC
        (
            "002A0301",
            {
                "dry_contact": (1, "open"),
                "cut_off": (0, "closed"),
                "producer": (1, "producer"),
                "direction": (1, "negative"),
                "supplier_index": (1, "index"),
                "distributor_index": (1, "index"),
                "tic_mode": (1, "standard"),
                "euridis": (1, "enabled"),
                "cpl_status": (1, "new_lock"),
                "tempo_today": (0, "none"),
            },
        ),
        # openHAB three-phase producer on Tempo: index 2, today blue, Euridis secured
        (
            "013A0501",
            {
                "producer": (1, "producer"),
                "direction": (0, "positive"),
                "supplier_index": (2, "index"),
                "euridis": (3, "secured"),
                "tempo_today": (1, "blue"),
                "tempo_tomorrow": (0, "none"),
            },
        ),
        # Enedis test frame: consumer, supplier index 2, terminal cover open
        (
            "000A4411",
            {
                "cover": (1, "open"),
                "producer": (0, "consumer"),
                "supplier_index": (2, "index"),
                "distributor_index": (2, "index"),
                "clock": (0, "ok"),
            },
        ),
        # built bit by bit: cut-off 3 (bits 1–3), over-voltage (6), power exceeded (7),
        # clock degraded (16), CPL registered and synchronised (21–23), tomorrow red
        # (26–27), notice PM3 (28–29), mobile peak PM2 (30–31)
        (
            "BCC1" + "00C6",
            {
                "dry_contact": (0, "closed"),
                "cut_off": (3, "load_shedding"),
                "overvoltage": (1, "yes"),
                "power_exceeded": (1, "yes"),
                "clock": (1, "degraded"),
                "tic_mode": (0, "historic"),
                "cpl_status": (2, "registered"),
                "cpl_sync": (1, "yes"),
                "tempo_today": (0, "none"),
                "tempo_tomorrow": (3, "red"),
                "mobile_peak_notice": (3, "pm3"),
                "mobile_peak": (2, "pm2"),
            },
        ),
        # values the spec does not list are shown as reserved, never guessed
        ("0010000E", {"cut_off": (7, "reserved"), "euridis": (2, "reserved")}),
    ],
)
def test_stge_bit_patterns_decode_as_the_spec_table_says(
    text: str, expected: dict[str, tuple[int, str]]
) -> None:
    got = decoded(text)
    assert {name: got[name] for name in expected} == expected


def test_the_tariff_reads_stge_through_the_same_table() -> None:
    status = decode_stge("BCC100C6")
    assert status is not None
    assert (status.colour_today, status.colour_tomorrow) == (None, Colour.RED)
    assert (status.mobile_peak_notice, status.mobile_peak, status.supplier_index) == (3, 2, 1)


@pytest.mark.parametrize("text", [None, 42, "", "0x2A0301", "002A030", "002A03011", "00G00000"])
def test_what_is_not_eight_hex_digits_is_no_stge(text: object) -> None:
    assert decode_status_register(text) is None


def test_the_meter_view_decodes_the_frame_stge_field_by_field() -> None:
    live = Live(started=T0)
    frame = decode(linky_standard_frame(date="E260614120000", sinsts_va=900), at(1))
    frame = replace(frame, values={**frame.values, "STGE": "bcc100c6"})
    live.update(topics.FRAME, payload(frame), at(1))
    m = meter(live, at(1))
    stge = m["stge"]
    assert isinstance(stge, dict) and stge["raw"] == "BCC100C6"
    fields = stge_fields(m)
    assert list(fields) == [f.name for f in STGE_FIELDS]
    assert fields["tempo_tomorrow"] == {
        "name": "tempo_tomorrow",
        "bits": "26-27",
        "description": "Tempo colour tomorrow",
        "raw": 3,
        "value": 3,
        "code": "red",
        "text": "red",
    }
    assert fields["cut_off"]["bits"] == "1-3" and fields["cut_off"]["code"] == "load_shedding"


# -- the page's texts ----------------------------------------------------------------------


def test_every_stge_field_and_meaning_has_its_text_in_both_languages() -> None:
    codes = {"index", "reserved"} | {
        code for f in STGE_FIELDS for code, _ in (f.values or {}).values()
    }
    keys = [f"meter_stge_{f.name}" for f in STGE_FIELDS] + [f"meter_v_{c}" for c in codes]
    keys += ["meter_mode_standard", "meter_mode_historic"]
    for lang in i18n.LANGS:
        texts = i18n.meter_texts(lang)
        assert not [key for key in keys if not texts.get(key, "").strip()], lang


def test_every_literal_text_the_meter_script_asks_for_exists() -> None:
    source = resources.files("pvopt.web").joinpath("static", "meter.js").read_text("utf-8")
    used = set(re.findall(r'\bt\("(\w+)"', source))
    assert "meter_labels" in used
    assert used <= set(i18n.meter_texts("en")), used - set(i18n.meter_texts("en"))
    units = {f"meter_unit_{u}" for u in ("s", "min", "h", "d")}
    assert units <= set(i18n.meter_texts("fr"))


def test_every_label_meaning_has_its_french_text() -> None:
    meanings = {spec.description for spec in (*STANDARD_LABELS.values(), *HISTORIC_LABELS.values())}
    missing = sorted(m for m in meanings if m not in i18n.LABEL_MEANINGS)
    assert not missing
    for texts in i18n.LABEL_MEANINGS.values():
        assert texts["fr"].strip() and texts["en"].strip()


def test_the_labels_meanings_are_in_the_pages_language() -> None:
    live = Live(started=T0)
    frame = decode(linky_standard_frame(date="E260614120000", sinsts_va=0, sinsti_va=1834), at(1))
    live.update(topics.FRAME, payload(frame), at(1))
    french = meter_document(live, at(1.5), "fr")["meter"]
    english = meter_document(live, at(1.5), "en")["meter"]
    assert isinstance(french, dict) and isinstance(english, dict)
    assert rows(french)["EAST"]["description"] == "énergie active soutirée totale"
    assert rows(english)["EAST"]["description"] == STANDARD_LABELS["EAST"].description
    # the rest of the document does not depend on the language
    assert {**french, "labels": None} == {**english, "labels": None}
