"""The settings view's decisions: the one check (what ``pvopt check-config`` says, with
lines and columns), the save request, the backups' names and pruning, and the file
written atomically with its backup (pvopt.io.config_store, on a temporary folder)."""

from __future__ import annotations

import os
import stat
from datetime import datetime
from pathlib import Path

import pytest

from pvopt.cli import main
from pvopt.equipment.check import (
    MAX_CONFIG_BYTES,
    check_config_bytes,
    check_config_text,
    config_version,
)
from pvopt.io.config_store import (
    ConfigWriteError,
    VersionMismatch,
    read_config,
    save_config,
)
from pvopt.web.settings import (
    backup_name,
    backups,
    regulation_config,
    save_request,
    to_prune,
)
from pvopt.web.steer import Refused

GOOD = """\
equipment:
  - type: VariablePowerEquipment
    id: 0
    name: water_heater
    max_power: 2400
"""
#: line 5, column 16: the value of max_power
BAD = GOOD.replace("max_power: 2400", "max_power: lots")
AT = datetime(2026, 12, 7, 4, 12, 33)


def test_the_check_gives_each_problem_its_line_column_and_key() -> None:
    checked = check_config_text(BAD, "equipment_config.yml")
    assert not checked.ok and checked.site is None
    (issue,) = checked.issues
    assert (issue.line, issue.column, issue.path) == (5, 16, "equipment[0].max_power")
    assert "expected" in issue.message and "'lots'" in issue.message
    assert checked.report("equipment_config.yml").startswith("equipment_config.yml:5: ")


def test_a_yaml_syntax_error_has_its_line_too() -> None:
    checked = check_config_text(GOOD + "  - [unclosed\n")
    assert checked.issues[0].line == 7 and checked.issues[0].column is not None
    assert checked.issues[0].message.startswith("YAML syntax error")


def test_a_file_that_is_not_utf8_is_one_problem_at_its_line() -> None:
    checked = check_config_bytes(GOOD.encode() + b"# caf\xe9\n", "x.yml")
    assert [i.line for i in checked.issues] == [6]


def test_check_config_prints_what_the_check_finds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``pvopt check-config`` and the page say the same: they call the same function."""
    path = tmp_path / "equipment_config.yml"
    path.write_text(BAD)
    assert main(["check-config", str(path)]) == 2
    expected = check_config_text(BAD, str(path)).report(str(path))
    assert capsys.readouterr().err.strip() == expected
    path.write_text(GOOD)
    assert main(["check-config", str(path)]) == 0
    assert "OK, 1 equipment" in capsys.readouterr().out


def test_a_valid_text_is_a_site_and_its_version_is_the_sha256_of_its_bytes() -> None:
    checked = check_config_text(GOOD)
    assert checked.ok and checked.site is not None
    assert checked.version == config_version(GOOD.encode()) and len(checked.version) == 64


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ([], 400, "bad_body"),
        ({"text": GOOD}, 400, "bad_version"),
        ({"text": 3, "version": "0" * 64}, 400, "bad_text"),
        ({"text": "name: \ud800", "version": "0" * 64}, 400, "bad_text"),
        ({"text": GOOD, "version": "nope"}, 400, "bad_version"),
        ({"text": GOOD, "version": "0" * 64, "extra": 1}, 400, "unknown_field"),
        ({"text": "#" * (MAX_CONFIG_BYTES + 1), "version": "0" * 64}, 413, "too_big"),
    ],
)
def test_a_bad_save_request_is_refused_with_its_reason(
    body: object, status: int, code: str
) -> None:
    with pytest.raises(Refused) as refused:
        save_request(body)
    assert (refused.value.status, refused.value.code) == (status, code)


def test_backups_are_named_by_the_local_time_and_the_newest_ten_kept() -> None:
    name = "equipment_config.yml"
    assert backup_name(name, AT) == "equipment_config.yml.2026-12-07T04-12-33.bak"
    assert backup_name(name, AT, [backup_name(name, AT)]) == (
        "equipment_config.yml.2026-12-07T04-12-33-1.bak"
    )
    made = [backup_name(name, AT.replace(minute=m)) for m in range(12)]
    folder = [*made, name, "pvopt.env", "other.yml.2026-12-07T04-12-33.bak"]
    assert backups(name, folder)[0] == made[-1]  # newest first
    assert to_prune(name, folder) == [made[1], made[0]]  # only its own, only the oldest


def test_saving_keeps_the_previous_file_as_a_backup_with_its_mode(tmp_path: Path) -> None:
    path = tmp_path / "equipment_config.yml"
    path.write_text(GOOD)
    os.chmod(path, 0o640)
    version = read_config(path).version
    saved = save_config(path, BAD.encode(), version, AT)
    assert path.read_text() == BAD and saved.version == config_version(BAD.encode())
    assert saved.backup == "equipment_config.yml.2026-12-07T04-12-33.bak"
    backup = tmp_path / saved.backup
    assert backup.read_text() == GOOD
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert stat.S_IMODE(backup.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, saved.backup])
    assert read_config(path).backups == (saved.backup,)


def test_a_file_changed_since_it_was_read_is_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "equipment_config.yml"
    path.write_text(GOOD)
    shown = read_config(path).version
    path.write_text(GOOD + "# edited in a shell\n")
    with pytest.raises(VersionMismatch) as changed:
        save_config(path, BAD.encode(), shown, AT)
    assert changed.value.current == config_version(path.read_bytes())
    assert path.read_text() == GOOD + "# edited in a shell\n"
    assert [p.name for p in tmp_path.iterdir()] == [path.name]


def test_a_write_error_leaves_the_old_file_intact(tmp_path: Path) -> None:
    path = tmp_path / "equipment_config.yml"
    path.write_text(GOOD)
    version = read_config(path).version
    # the temporary file cannot be made (a folder has its name): a full disk would do too
    (tmp_path / f".{path.name}.{os.getpid()}.tmp").mkdir()
    with pytest.raises(ConfigWriteError, match="cannot write"):
        save_config(path, BAD.encode(), version, AT)
    assert path.read_text() == GOOD


def test_only_the_newest_backups_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "equipment_config.yml"
    path.write_text(GOOD)
    for minute in range(4):
        version = read_config(path).version
        save_config(path, f"{GOOD}# {minute}\n".encode(), version, AT.replace(minute=minute), 2)
    assert read_config(path).backups == (
        "equipment_config.yml.2026-12-07T04-03-33.bak",
        "equipment_config.yml.2026-12-07T04-02-33.bak",
    )


def test_the_regulations_document_is_taken_only_when_it_is_one() -> None:
    doc = b'{"version": "ab", "loads": [], "last_reload": {"result": "loaded"}}'
    assert regulation_config(doc) == {
        "version": "ab",
        "loads": [],
        "last_reload": {"result": "loaded"},
    }
    for bad in (b"", b"[]", b"{", b'{"version": 1, "loads": [], "last_reload": {}}'):
        assert regulation_config(bad) is None
