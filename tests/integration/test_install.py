"""install.sh: the production install, run into a directory tree (``--root``).

``./install.sh --root DIR --venv-plan --python PY`` builds the whole tree a Pi gets (units,
/etc/pvopt, the broker's files, Grafana's provisioning, the venv's build plan) without
touching the machine; a second run has nothing to do; ``--dry-run`` writes nothing;
``--uninstall`` keeps the configuration and the data, ``--purge`` does not. The broker
files it installs are then loaded into a real mosquitto: no anonymous client, no device
writing another device's topics. The InfluxDB part runs against a real influxd.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from pvopt.web import auth

from .conftest import HOST, Influxd, Mosquitto, _run_server, find_binary, free_port

REPO = Path(__file__).resolve().parents[2]
INSTALL = REPO / "install.sh"
TEMPLATE_IDS = ["0", "pool", "plug1"]  # the equipment ids of equipment_config.yml.template


def install(root: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run install.sh into ``root`` with the venv's plan (fast) and this test's python."""
    find_binary("mosquitto_passwd")  # install.sh hashes the broker's passwords with it
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PVOPT_", "MQTT_"))}
    result = subprocess.run(
        [
            "bash",
            str(INSTALL),
            "--root",
            str(root),
            "--venv-plan",
            "--python",
            sys.executable,
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    if check:
        assert result.returncode == 0, f"install.sh failed:\n{result.stdout}\n{result.stderr}"
    return result


def snapshot(root: Path) -> dict[str, str]:
    """Every path under ``root`` with its mode and its content's hash (or link target)."""
    if not root.exists():
        return {}
    listing: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        mode = oct(path.lstat().st_mode)
        if path.is_symlink():
            listing[str(path.relative_to(root))] = f"{mode} -> {os.readlink(path)}"
        elif path.is_file():
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            listing[str(path.relative_to(root))] = f"{mode} {digest}"
        else:
            listing[str(path.relative_to(root))] = mode
    return listing


def env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of an environment file."""
    values = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key] = value
    return values


def mqtt_users(root: Path) -> dict[str, str]:
    """User → password of /etc/pvopt/mqtt-users.txt."""
    lines = (root / "etc/pvopt/mqtt-users.txt").read_text().splitlines()
    return dict(line.split(" ", 1) for line in lines if line and not line.startswith("#"))


def file_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """One tree installed by install.sh (shared: the tests below only read it)."""
    root = tmp_path_factory.mktemp("install") / "root"
    return root, install(root).stdout


# -- the tree ---------------------------------------------------------------------------


def test_install_into_a_root_builds_the_complete_tree(installed: tuple[Path, str]) -> None:
    root, output = installed
    units = sorted((REPO / "systemd").glob("*.service"))
    assert units, "no systemd/*.service in the checkout"
    for unit in units:
        assert (root / "etc/systemd/system" / unit.name).read_text() == unit.read_text()
        link = root / "etc/systemd/system/multi-user.target.wants" / unit.name
        assert os.readlink(link) == f"/etc/systemd/system/{unit.name}", "unit not enabled"

    env = env_file(root / "etc/pvopt/pvopt.env")
    assert file_mode(root / "etc/pvopt/pvopt.env") == 0o600
    assert env["MQTT_USERNAME"] == "pvopt"
    assert len(env["MQTT_PASSWORD"]) == 24 and env["MQTT_PASSWORD"].isalnum()
    assert env["INFLUXDB_USERNAME"] == "pvopt" and len(env["INFLUXDB_PASSWORD"]) == 24
    assert env["PVOPT_CONFIG"] == "/etc/pvopt/equipment_config.yml"
    assert env["PVOPT_STATE_DIR"] == "/var/lib/pvopt"
    assert env["TELEINFO_PORT"] == "/dev/ttyAMA0"
    assert env["INFLUXDB_DATABASE"] == "teleinfo"

    config = root / "etc/pvopt/equipment_config.yml"
    assert config.read_text() == (REPO / "equipment_config.yml.template").read_text()
    assert "checked /etc/pvopt/equipment_config.yml: 3 equipment" in output
    # pvopt web's settings page writes the config and its backups there (sticky: it
    # cannot replace root's files)
    assert file_mode(config) == 0o640
    assert file_mode(root / "etc/pvopt") == 0o1770
    assert (root / "var/lib/pvopt").is_dir()
    for secret in ("secrets.env", "grafana.env", "mqtt-users.txt", "web-password"):
        assert file_mode(root / "etc/pvopt" / secret) == 0o600, secret

    plan = (root / "opt/pvopt/venv.plan").read_text()
    assert "-m venv /opt/pvopt/venv" in plan
    assert f"/opt/pvopt/venv/bin/pip install --no-cache-dir {REPO}" in plan

    snippet = (root / "etc/mosquitto/conf.d/pvopt.conf").read_text()
    for line in (
        "listener 1883",
        "allow_anonymous false",
        "set_tcp_nodelay true",
        "password_file /etc/mosquitto/pvopt.passwd",
        "acl_file /etc/mosquitto/pvopt.acl",
    ):
        assert line in snippet.splitlines()
    acl = root / "etc/mosquitto/pvopt.acl"
    assert acl.read_text() == (REPO / "deploy/mosquitto/pvopt.acl").read_text()
    passwd = root / "etc/mosquitto/pvopt.passwd"
    hashed = dict(line.split(":", 1) for line in passwd.read_text().splitlines())
    assert sorted(hashed) == sorted(["pvopt", "homeassistant", *TEMPLATE_IDS])
    assert all(h.startswith("$7$") for h in hashed.values()), "passwords not hashed"
    assert file_mode(passwd) == 0o640
    assert sorted(mqtt_users(root)) == sorted(["homeassistant", *TEMPLATE_IDS])

    influx = env_file(root / "etc/default/influxdb")
    assert influx["INFLUXDB_HTTP_BIND_ADDRESS"] == "127.0.0.1:8086"
    assert influx["INFLUXDB_HTTP_AUTH_ENABLED"] == "true"

    for source in sorted((REPO / "grafana/provisioning").glob("*/*.yaml")):
        installed_file = root / "etc/grafana/provisioning" / source.parent.name / source.name
        assert installed_file.read_text() == source.read_text()
    for source in sorted((REPO / "grafana/dashboards").glob("*.json")):
        dashboard = root / "var/lib/grafana/dashboards/pvopt" / source.name
        assert dashboard.read_bytes() == source.read_bytes()
    dropin = root / "etc/systemd/system/grafana-server.service.d/pvopt.conf"
    assert "EnvironmentFile=/etc/pvopt/grafana.env" in dropin.read_text().splitlines()
    grafana = env_file(root / "etc/pvopt/grafana.env")
    assert grafana["PVOPT_GRAFANA_INFLUX_USER"] == "grafana"
    assert len(grafana["GF_SECURITY_ADMIN_PASSWORD"]) == 24
    assert len(grafana["PVOPT_GRAFANA_INFLUX_PASSWORD"]) == 24

    # Nothing of the machine itself was done: every such step says so.
    for step in ("apt-get install", "useradd", "InfluxDB users", "systemctl daemon-reload"):
        assert any(
            line.startswith("skipped (--root):") and step in line for line in output.splitlines()
        ), step


def test_pvopt_webs_password_is_printed_once_and_only_its_hash_is_kept(
    installed: tuple[Path, str], tmp_path: Path
) -> None:
    root, output = installed
    shown = re.findall(r"^  password: (\S+)$", output, re.MULTILINE)
    assert len(shown) == 1, output
    password = shown[0]
    assert re.fullmatch(r"[a-z2-9]{5}(-[a-z2-9]{5}){3}", password)
    assert "pvopt web, the household's page: http://" in output and ":8080/" in output
    assert "generate pvopt web's password (/etc/pvopt/web-password: its hash only)" in output
    stored = (root / "etc/pvopt/web-password").read_text()
    assert stored.startswith("$scrypt$ln=14,r=8,p=1$") and password not in stored
    assert auth.verify_password(password, auth.parse_hash(stored))
    for path in root.rglob("*"):  # the password itself is nowhere on disk
        if path.is_file() and not path.is_symlink():
            assert password.encode() not in path.read_bytes(), path
    # A second run keeps the hash and shows no password.
    again = install(root)
    assert (root / "etc/pvopt/web-password").read_text() == stored
    assert not re.search(r"^  password: ", again.stdout, re.MULTILINE)


def test_a_second_run_changes_nothing_and_says_so(tmp_path: Path) -> None:
    root = tmp_path / "root"
    install(root)
    before = snapshot(root)
    again = install(root)
    assert "nothing to do" in again.stdout
    assert snapshot(root) == before


def test_dry_run_changes_nothing_on_disk(tmp_path: Path) -> None:
    root = tmp_path / "root"
    fresh = install(root, "--dry-run")
    assert not root.exists(), "--dry-run created the root"
    assert "would: install /etc/pvopt/pvopt.env" in fresh.stdout
    assert "would: install /etc/mosquitto/conf.d/pvopt.conf" in fresh.stdout
    assert "would: generate pvopt web's password" in fresh.stdout
    assert not re.search(r"^  password: ", fresh.stdout, re.MULTILINE)
    assert "nothing was changed" in fresh.stdout

    install(root)
    (root / "etc/mosquitto/pvopt.acl").write_text("# edited by hand\n")
    (root / "etc/pvopt/pvopt.env").chmod(0o644)
    before = snapshot(root)
    dry = install(root, "--dry-run")
    assert "would: install /etc/mosquitto/pvopt.acl" in dry.stdout
    assert "would: chmod 0600 /etc/pvopt/pvopt.env" in dry.stdout
    assert snapshot(root) == before
    install(root)  # the real run repairs both
    assert file_mode(root / "etc/pvopt/pvopt.env") == 0o600
    assert (root / "etc/mosquitto/pvopt.acl").read_text().startswith("# pvopt's MQTT")


def test_passwords_and_config_are_never_overwritten(tmp_path: Path) -> None:
    root = tmp_path / "root"
    install(root)
    env_path = root / "etc/pvopt/pvopt.env"
    env_path.write_text(env_path.read_text() + "PVOPT_LOG_LEVEL=DEBUG\n")
    users = mqtt_users(root)
    config = root / "etc/pvopt/equipment_config.yml"
    config.write_text(
        config.read_text().replace(
            "equipment:\n",
            "equipment:\n"
            "  - {type: ConstantPowerEquipment, id: heater2, name: heater, nominal_power: 500}\n",
            1,
        )
    )
    passwd_before = (root / "etc/mosquitto/pvopt.passwd").read_text()

    output = install(root).stdout

    assert env_path.read_text().endswith("PVOPT_LOG_LEVEL=DEBUG\n")
    assert "heater" in config.read_text()
    new_users = mqtt_users(root)
    assert {k: new_users[k] for k in users} == users, "an existing password changed"
    assert set(new_users) - set(users) == {"heater2"}
    passwd_after = (root / "etc/mosquitto/pvopt.passwd").read_text()
    assert passwd_after.startswith(passwd_before) and "\nheater2:$7$" in passwd_after
    assert "add MQTT users to /etc/mosquitto/pvopt.passwd: heater2" in output


def test_an_invalid_config_stops_the_install_with_its_error(tmp_path: Path) -> None:
    root = tmp_path / "root"
    config = root / "etc/pvopt/equipment_config.yml"
    config.parent.mkdir(parents=True)
    config.write_text("equipment:\n  - type: NoSuchEquipment\n    id: 1\n    name: x\n")
    result = install(root, check=False)
    assert result.returncode == 1
    assert "NoSuchEquipment" in result.stderr
    assert "equipment_config.yml is not valid" in result.stderr
    assert not (root / "etc/systemd/system/multi-user.target.wants").exists()


def test_uninstall_keeps_config_and_data_and_purge_removes_them(tmp_path: Path) -> None:
    root = tmp_path / "root"
    influx_defaults = root / "etc/default/influxdb"  # as someone else left it
    influx_defaults.parent.mkdir(parents=True)
    influx_defaults.write_text("INFLUXD_OPTS=\n")
    install(root)
    assert "INFLUXDB_HTTP_AUTH_ENABLED=true" in influx_defaults.read_text()
    (root / "var/lib/pvopt/regulation_counters.json").write_text("{}")
    env_before = (root / "etc/pvopt/pvopt.env").read_text()

    install(root, "--uninstall")
    assert not list((root / "etc/systemd/system").glob("*.service"))
    assert not list((root / "etc/systemd/system").glob("*.wants/*.service"))
    assert not (root / "opt/pvopt").exists()
    assert (root / "etc/pvopt/pvopt.env").read_text() == env_before
    assert (root / "var/lib/pvopt/regulation_counters.json").exists()
    assert (root / "etc/mosquitto/pvopt.passwd").exists()
    assert "nothing to do" in install(root, "--uninstall").stdout

    install(root, "--purge")
    left = [p for p in snapshot(root) if not (root / p).is_dir()]
    assert left == ["etc/default/influxdb"], f"--purge left {left}"
    assert influx_defaults.read_text() == "INFLUXD_OPTS=\n"
    assert "nothing to do" in install(root, "--purge").stdout


# -- the Raspberry Pi's serial port ---------------------------------------------------------


def fake_pi(
    root: Path, config: str, cmdline: str, model: str = "Raspberry Pi 4 Model B Rev 1.4"
) -> None:
    (root / "proc/device-tree").mkdir(parents=True)
    (root / "proc/device-tree/model").write_bytes(model.encode() + b"\0")
    (root / "boot/firmware").mkdir(parents=True)
    (root / "boot/firmware/config.txt").write_text(config)
    (root / "boot/firmware/cmdline.txt").write_text(cmdline)


def test_a_pi_with_the_serial_console_and_bluetooth_on_the_uart_is_told_what_to_change(
    tmp_path: Path,
) -> None:
    root = tmp_path / "root"
    fake_pi(
        root,
        "[all]\n#enable_uart=1\n",
        "console=serial0,115200 console=tty1 root=PARTUUID=x rootwait\n",
    )
    result = install(root)
    assert "add 'enable_uart=1' to /boot/firmware/config.txt" in result.stderr
    assert "dtoverlay=disable-bt" in result.stderr
    assert "remove 'console=serial0,115200' from /boot/firmware/cmdline.txt" in result.stderr
    assert (root / "boot/firmware/cmdline.txt").read_text().startswith("console=serial0")


def test_a_pi_ready_for_the_tic_passes_the_serial_check(tmp_path: Path) -> None:
    root = tmp_path / "root"
    fake_pi(root, "[all]\nenable_uart=1\ndtoverlay=disable-bt\n", "console=tty1 root=PARTUUID=x\n")
    result = install(root)
    assert "UART ready for the TIC" in result.stdout
    assert "serial" not in result.stderr


def test_a_usb_tic_interface_skips_the_uart_check(tmp_path: Path) -> None:
    root = tmp_path / "root"
    fake_pi(root, "", "console=serial0,115200\n")
    port = "/dev/serial/by-id/usb-FTDI_FT230X_Basic_UART_DJ00XXXX-if00-port0"
    result = install(root, "--tic-port", port)
    assert env_file(root / "etc/pvopt/pvopt.env")["TELEINFO_PORT"] == port
    assert "not the Pi's UART" in result.stdout
    assert "enable_uart" not in result.stderr


# -- the broker with the generated files ----------------------------------------------------


class InstalledMosquitto(Mosquitto):
    """mosquitto with install.sh's snippet, ACL and password file from a --root tree."""

    def __init__(self, binary: str, workdir: Path, root: Path) -> None:
        super().__init__(binary, workdir)
        self.root = root

    def prepare(self) -> None:
        self.port = free_port()
        lines = ["persistence false", "log_dest stdout", "log_type error", "log_type warning"]
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to "mosquitto", who cannot read tmp
        snippet = (self.root / "etc/mosquitto/conf.d/pvopt.conf").read_text().splitlines()
        for line in snippet:
            if line.startswith("listener "):
                lines.append(f"listener {self.port} {HOST}")
            else:
                lines.append(line.replace("/etc/mosquitto/", f"{self.root}/etc/mosquitto/"))
        self.config = self.workdir / "mosquitto.conf"
        self.config.write_text("\n".join(lines) + "\n")


@pytest.fixture
def broker(installed: tuple[Path, str], tmp_path: Path) -> Iterator[InstalledMosquitto]:
    workdir = tmp_path / "broker"
    workdir.mkdir()
    yield from _run_server(InstalledMosquitto(find_binary("mosquitto"), workdir, installed[0]))


class Client:
    """A paho 2 client that logs in (or not), reports its CONNACK and records messages."""

    def __init__(
        self, broker: Mosquitto, user: str | None, password: str | None, topics: list[str]
    ) -> None:
        self.reason: Any = None
        self.topics = topics
        self.received: list[tuple[str, str]] = []
        self._cond = threading.Condition()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"t-{user}-{id(self)}")
        if user is not None:
            self.client.username_pw_set(user, password)
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port, keepalive=10)
        self.client.loop_start()
        with self._cond:
            assert self._cond.wait_for(lambda: self.reason is not None, 10), "no CONNACK"
        if topics and self.accepted:
            assert self._subscribed.wait(10), "no SUBACK"

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if not reason.is_failure and self.topics:
            client.subscribe([(topic, 1) for topic in self.topics])
        with self._cond:
            self.reason = reason
            self._cond.notify_all()

    def _on_message(self, client: Any, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.received.append((msg.topic, msg.payload.decode()))
            self._cond.notify_all()

    @property
    def accepted(self) -> bool:
        return not self.reason.is_failure

    def publish(self, topic: str, payload: str) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def wait_for(self, topic: str, payload: str) -> None:
        """Wait until (topic, payload) was received (fails after 10 s)."""
        with self._cond:
            got = self._cond.wait_for(lambda: (topic, payload) in self.received, 10)
            assert got, f"{topic} {payload} not received; got {self.received}"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def clients(broker: InstalledMosquitto) -> Iterator[Any]:
    made: list[Client] = []

    def connect(
        user: str | None, password: str | None = None, topics: list[str] | None = None
    ) -> Client:
        client = Client(broker, user, password, topics or [])
        made.append(client)
        return client

    yield connect
    for client in made:
        client.close()


def test_the_broker_refuses_anonymous_clients_and_wrong_passwords(
    installed: tuple[Path, str], clients: Any
) -> None:
    root = installed[0]
    password = env_file(root / "etc/pvopt/pvopt.env")["MQTT_PASSWORD"]
    anonymous = clients(None)
    assert not anonymous.accepted and str(anonymous.reason) == "Not authorized"
    assert not clients("pvopt", "not-the-password").accepted
    assert clients("pvopt", password).accepted
    assert clients("pool", mqtt_users(root)["pool"]).accepted


def test_a_device_cannot_write_another_devices_topics(
    installed: tuple[Path, str], clients: Any
) -> None:
    root = installed[0]
    users = mqtt_users(root)
    daemons = clients("pvopt", env_file(root / "etc/pvopt/pvopt.env")["MQTT_PASSWORD"], ["#"])
    pool = clients("pool", users["pool"])
    tank = clients("0", users["0"])
    # Denied publishes are dropped silently: each is sent before an allowed one on the same
    # connection, so once the allowed one arrived the denied one would have arrived too.
    pool.publish("scr/0/temperature", "20")  # spoofing the tank's probe
    pool.publish("scr/0/in", "100")  # commanding the tank's dimmer
    pool.publish("shellies/pool/relay/0", "on")  # its own state: allowed
    tank.publish("scr/0/in", "100")  # its own command topic, read-only for it
    tank.publish("tic/SINSTI", "5000")  # the meter's topics belong to the daemons
    tank.publish("scr/0/temperature", "55.5")  # its own probe: allowed
    daemons.wait_for("shellies/pool/relay/0", "on")
    daemons.wait_for("scr/0/temperature", "55.5")
    assert sorted(daemons.received) == [
        ("scr/0/temperature", "55.5"),
        ("shellies/pool/relay/0", "on"),
    ]


def test_a_device_reads_only_its_own_commands(installed: tuple[Path, str], clients: Any) -> None:
    root = installed[0]
    plug = clients("plug1", mqtt_users(root)["plug1"], ["cmnd/#", "scr/#", "tic/#"])
    daemons = clients("pvopt", env_file(root / "etc/pvopt/pvopt.env")["MQTT_PASSWORD"])
    daemons.publish("scr/0/in", "40")
    daemons.publish("cmnd/pool/POWER", "ON")
    daemons.publish("tic/SINSTS", "1200")
    daemons.publish("cmnd/plug1/POWER", "ON")
    plug.wait_for("cmnd/plug1/POWER", "ON")
    assert plug.received == [("cmnd/plug1/POWER", "ON")]


# -- InfluxDB ------------------------------------------------------------------------------


def test_influxdb_gets_its_users_database_and_retention_policy(
    tmp_path: Path, influxd: Influxd
) -> None:
    root = tmp_path / "root"
    find_binary("influx")
    first = install(root, "--influx-port", str(influxd.port))
    assert "create InfluxDB user pvopt (ALL on teleinfo)" in first.stdout

    users = {u["user"]: u["admin"] for u in influxd.query("SHOW USERS").get_points()}
    assert users == {"admin": True, "pvopt": False, "grafana": False}
    databases = [d["name"] for d in influxd.query("SHOW DATABASES").get_points()]
    assert "teleinfo" in databases
    policies = {
        p["name"]: (p["duration"], p["default"])
        for p in influxd.query("SHOW RETENTION POLICIES ON teleinfo").get_points()
    }
    assert policies["one_year"] == ("8760h0m0s", True)
    grants = {
        g["database"]: g["privilege"] for g in influxd.query("SHOW GRANTS FOR pvopt").get_points()
    }
    assert grants == {"teleinfo": "ALL PRIVILEGES"}
    grants = {
        g["database"]: g["privilege"] for g in influxd.query("SHOW GRANTS FOR grafana").get_points()
    }
    assert grants == {"teleinfo": "READ"}
    assert env_file(root / "etc/pvopt/pvopt.env")["INFLUXDB_PORT"] == str(influxd.port)

    assert "nothing to do" in install(root, "--influx-port", str(influxd.port)).stdout

    install(root, "--purge", "--influx-port", str(influxd.port))
    assert list(influxd.query("SHOW USERS").get_points()) == []
    databases = [d["name"] for d in influxd.query("SHOW DATABASES").get_points()]
    assert "teleinfo" not in databases


class AuthInfluxd(Influxd):
    """influxd with authentication on, as /etc/default/influxdb sets it on the Pi."""

    def prepare(self) -> None:
        super().prepare()
        text = self.config.read_text().replace("auth-enabled = false", "auth-enabled = true")
        self.config.write_text(text)


def test_with_authentication_on_the_daemons_write_and_grafana_only_reads(
    tmp_path: Path,
) -> None:
    from influxdb import InfluxDBClient
    from influxdb.exceptions import InfluxDBClientError

    find_binary("influx")
    workdir = tmp_path / "influxd"
    workdir.mkdir()
    server = AuthInfluxd(find_binary("influxd"), workdir)
    server.prepare()
    root = tmp_path / "root"
    try:
        server.start()
        install(root, "--influx-port", str(server.port))
        env = env_file(root / "etc/pvopt/pvopt.env")
        grafana = env_file(root / "etc/pvopt/grafana.env")

        def client(user: str, password: str) -> InfluxDBClient:
            return InfluxDBClient(HOST, server.port, user, password, "teleinfo", timeout=5)

        daemons = client(env["INFLUXDB_USERNAME"], env["INFLUXDB_PASSWORD"])
        assert daemons.write_points([{"measurement": "teleinfo", "fields": {"SINSTS": 1250}}])
        reader = client(
            grafana["PVOPT_GRAFANA_INFLUX_USER"], grafana["PVOPT_GRAFANA_INFLUX_PASSWORD"]
        )
        assert [p["SINSTS"] for p in reader.query("SELECT SINSTS FROM teleinfo").get_points()] == [
            1250
        ]
        with pytest.raises(InfluxDBClientError) as refused:
            reader.write_points([{"measurement": "teleinfo", "fields": {"SINSTS": 1}}])
        assert refused.value.code == 403
        with pytest.raises(InfluxDBClientError) as anonymous:
            client("", "").query("SHOW DATABASES")
        assert anonymous.value.code == 401
        assert "nothing to do" in install(root, "--influx-port", str(server.port)).stdout
    finally:
        server.stop()
