"""What the meter's labels say about the tariff (pure): which period applies now.

Next to the decoder because it is a fact of the TIC, not a regulation rule
(``../shared/research/tic.md``).
"""

from __future__ import annotations


def tariff_offpeak(values: dict[str, object]) -> bool | None:
    """Off-peak now according to the meter, or None when it does not say.

    Historic mode: PTEC ``HC..``/``HCJB``… is off-peak, ``HP..``/``TH..``/``HN``/``PM`` not.
    Standard mode: LTARF holds the supplier's label (``HEURE CREUSE``, ``HC BLEU``…).
    NTARF is only an index number whose meaning depends on the contract: not used.
    """
    ptec = values.get("PTEC")
    if isinstance(ptec, str) and ptec:
        return ptec.upper().startswith("HC")
    ltarf = values.get("LTARF")
    if isinstance(ltarf, str) and ltarf:
        label = " ".join(ltarf.upper().split())
        if "CREUSE" in label or label.startswith("HC") or " HC" in label:
            return True
        if "PLEINE" in label or label.startswith("HP") or " HP" in label:
            return False
    return None
