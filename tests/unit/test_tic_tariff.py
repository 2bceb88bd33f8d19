"""What the meter's labels say about the tariff period."""

from __future__ import annotations

import pytest

from pvopt.tic.tariff import tariff_offpeak


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"PTEC": "HP.."}, False),
        ({"PTEC": "TH.."}, False),
        ({"PTEC": "HC.."}, True),
        ({"LTARF": " HEURE  CREUSE "}, True),
        ({"LTARF": "  HEURE  PLEINE "}, False),
        ({"LTARF": "    HP  BLEU    "}, False),
        ({"LTARF": "    HC  BLEU    "}, True),
        ({"LTARF": "INDEX NON CONSO"}, None),
        ({}, None),
    ],
)
def test_the_meter_tariff_tells_off_peak(values: dict[str, object], expected: bool | None) -> None:
    assert tariff_offpeak(values) is expected
