#!/usr/bin/env bash
# install.sh: production install of pvopt on Raspberry Pi OS / Debian 12 (run as root).
#
#   sudo ./install.sh                 install or update; a second run changes nothing
#   sudo ./install.sh --dry-run       print every action, change nothing
#   ./install.sh --root DIR           install into the tree DIR (tests; no root needed)
#   sudo ./install.sh --uninstall     remove the services and the venv (keeps config, data)
#   sudo ./install.sh --purge         also remove config, data, broker users, the database
#
# What it installs (README_RASPBERRY_PI.md tells the story, README.md the reference):
#   Debian packages   mosquitto mosquitto-clients influxdb influxdb-client python3-venv
#                     (Debian 12's own versions: stable, security-updated, no pins)
#   user              pvopt (system user, group dialout for the TIC serial port)
#   /opt/pvopt/venv   the pvopt package built from this checkout
#   /etc/pvopt/       pvopt.env (0600: generated passwords, never overwritten),
#                     equipment_config.yml (from the template if absent, then validated;
#                     0640 pvopt:pvopt: pvopt web's settings page rewrites it, keeping
#                     dated backups next to it; the folder is 1770 root:pvopt, sticky, so
#                     the pvopt user adds files there but cannot replace root's),
#                     mqtt-users.txt (0600: Home Assistant's and the devices' MQTT
#                     passwords), secrets.env (0600: InfluxDB admin), grafana.env (0600),
#                     web-password (0600, owned by pvopt: the scrypt hash of pvopt web's
#                     password, generated once; the password is printed at the end, once)
#   /var/lib/pvopt    state (spool, counters), owned by pvopt
#   mosquitto         /etc/mosquitto/conf.d/pvopt.conf (listener, no anonymous clients,
#                     tcp_nodelay), /etc/mosquitto/pvopt.passwd, /etc/mosquitto/pvopt.acl
#   InfluxDB          HTTP on 127.0.0.1 only with authentication (/etc/default/influxdb),
#                     users admin / pvopt (ALL on teleinfo) / grafana (READ), database
#                     teleinfo with the retention policy one_year (365 d) as default
#   Grafana           Grafana's apt repository and package (--no-grafana: skip), the
#                     provisioning files of grafana/, a drop-in that gives grafana-server
#                     /etc/pvopt/grafana.env (PVOPT_GRAFANA_INFLUX_*, GF_SECURITY_ADMIN_PASSWORD)
#   systemd           every systemd/*.service of this checkout (teleinfo, power_regulation,
#                     pvopt_web: the household's page on port 8080), enabled and started
#
# Under --root DIR nothing outside DIR is touched: no apt-get, useradd, chown, systemctl,
# influx or restart (each is printed as "skipped (--root)"); files are written into DIR,
# `systemctl enable` is done as symlinks in DIR. --venv-plan writes the commands that
# would build the venv to /opt/pvopt/venv.plan instead of running them, and validates
# the configuration with --python (PYTHONPATH=this checkout): what the tests use.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=""
DRY_RUN=0
UNINSTALL=0
PURGE=0
GRAFANA=1
VENV_PLAN=0
PYTHON=/usr/bin/python3
TIC_PORT=/dev/ttyAMA0
INFLUX_HOST=127.0.0.1
INFLUX_PORT=8086
INFLUX_FORCE=0          # --influx-port given: provision that server even under --root
DATABASE=teleinfo
RETENTION_POLICY=one_year
RETENTION_DURATION=365d
APT_PACKAGES=(mosquitto mosquitto-clients influxdb influxdb-client python3-venv ca-certificates curl)
UNITS_DIR=/etc/systemd/system
VENV=/opt/pvopt/venv
ETC=/etc/pvopt
ENV_FILE=$ETC/pvopt.env
CONFIG=$ETC/equipment_config.yml
MQTT_USERS=$ETC/mqtt-users.txt
SECRETS=$ETC/secrets.env
WEB_PASSWORD=$ETC/web-password
WEB_PASSWORD_SHOWN=""
GRAFANA_ENV=$ETC/grafana.env
GRAFANA_DROPIN=/etc/systemd/system/grafana-server.service.d/pvopt.conf
STATE=/var/lib/pvopt
MOSQ_CONF=/etc/mosquitto/conf.d/pvopt.conf
MOSQ_PASSWD=/etc/mosquitto/pvopt.passwd
MOSQ_ACL=/etc/mosquitto/pvopt.acl
GRAFANA_DASHBOARDS=/var/lib/grafana/dashboards/pvopt
RESERVED_MQTT_USERS=(pvopt homeassistant)

CHANGES=0
RESTART_MOSQUITTO=0
RESTART_INFLUXDB=0
RESTART_GRAFANA=0
RESTART_PVOPT=0
DAEMON_RELOAD=0
TMP=""

usage() {
    sed -n '2,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
    cat <<'EOF'

Options:
  --dry-run          print every action, change nothing
  --root DIR         install into the directory tree DIR (alias --prefix)
  --uninstall        stop and remove the services and the venv; keep config and data
  --purge            --uninstall, and remove config, data, broker files, the database
  --no-grafana       neither install nor provision Grafana
  --venv-plan        write the venv's build commands to /opt/pvopt/venv.plan, do not run them
  --python PY        python used to build the venv (default /usr/bin/python3)
  --tic-port DEV     TELEINFO_PORT written to a new pvopt.env (default /dev/ttyAMA0;
                     a USB interface: /dev/serial/by-id/usb-FTDI_...)
  --influx-port N    InfluxDB HTTP port (default 8086); given with --root, that server
                     is provisioned (users, database) even though DIR is not the machine
EOF
}

say() { printf '%s\n' "$*"; }
warn() { printf 'install.sh: WARNING: %s\n' "$*" >&2; }
die() {
    printf 'install.sh: %s\n' "$*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case $1 in
    --dry-run) DRY_RUN=1 ;;
    --root | --prefix)
        [ $# -ge 2 ] || die "$1 needs a directory"
        ROOT=$2
        shift
        ;;
    --root=* | --prefix=*) ROOT=${1#*=} ;;
    --uninstall) UNINSTALL=1 ;;
    --purge) UNINSTALL=1 PURGE=1 ;;
    --no-grafana) GRAFANA=0 ;;
    --venv-plan) VENV_PLAN=1 ;;
    --python)
        [ $# -ge 2 ] || die "--python needs a path"
        PYTHON=$2
        shift
        ;;
    --tic-port)
        [ $# -ge 2 ] || die "--tic-port needs a device"
        TIC_PORT=$2
        shift
        ;;
    --influx-port)
        [ $# -ge 2 ] || die "--influx-port needs a port"
        INFLUX_PORT=$2 INFLUX_FORCE=1
        shift
        ;;
    -h | --help)
        usage
        exit 0
        ;;
    *)
        printf 'install.sh: unknown option: %s\n\n' "$1" >&2
        usage >&2
        exit 2
        ;;
    esac
    shift
done

if [ -n "$ROOT" ]; then
    ROOT=$(realpath -m "$ROOT")
    [ "$ROOT" != / ] || ROOT=""
    if [ -n "$ROOT" ] && [ "$DRY_RUN" = 0 ]; then
        mkdir -p "$ROOT" || die "cannot create $ROOT"
    fi
fi
if [ -z "$ROOT" ] && [ "$(id -u)" -ne 0 ] && [ "$DRY_RUN" = 0 ]; then
    die "run as root (sudo $0), or try --dry-run or --root DIR"
fi
case $TIC_PORT in *[[:space:]]* | "") die "--tic-port: bad device name '$TIC_PORT'" ;; esac
case $INFLUX_PORT in '' | *[!0-9]*) die "--influx-port: not a number: $INFLUX_PORT" ;; esac

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# -- actions ------------------------------------------------------------------------------

# p PATH: where PATH of the target system is (inside DIR under --root).
p() { printf '%s%s' "$ROOT" "$1"; }

# change DESCRIPTION: count and announce a change; false in --dry-run (the caller skips it).
change() {
    CHANGES=$((CHANGES + 1))
    if [ "$DRY_RUN" = 1 ]; then
        say "would: $*"
        return 1
    fi
    say "$*"
}

# system DESCRIPTION CMD...: a command acting on the machine itself (packages, users,
# services, databases): printed and not run under --root; counted as a change otherwise.
system() {
    local what=$1
    shift
    if [ -n "$ROOT" ]; then
        say "skipped (--root): $what"
        return 0
    fi
    if change "$what"; then
        "$@"
    fi
}

on_machine() { [ -z "$ROOT" ]; }

# owner_ok PATH USER:GROUP: ownership is right, or not ours to check (--root).
owner_ok() {
    on_machine || return 0
    [ "$(stat -c %U:%G "$1")" = "$2" ]
}

# ensure_dir PATH MODE USER:GROUP
ensure_dir() {
    local path=$1 mode=$2 owner=$3 target
    target=$(p "$path")
    if [ ! -d "$target" ]; then
        if change "create $path ($mode $owner)"; then
            mkdir -p "$target"
            chmod "$mode" "$target"
            on_machine && chown "$owner" "$target"
        fi
        return 0
    fi
    if [ "$(stat -c %a "$target")" != "${mode#0}" ]; then
        change "chmod $mode $path" && chmod "$mode" "$target"
    fi
    if ! owner_ok "$target" "$owner"; then
        change "chown $owner $path" && chown "$owner" "$target"
    fi
    return 0
}

# install_file SOURCE PATH MODE USER:GROUP: copy when the content differs; 0 if it changed.
install_file() {
    local src=$1 path=$2 mode=$3 owner=$4 target changed=1
    target=$(p "$path")
    if [ ! -f "$target" ] || ! cmp -s "$src" "$target"; then
        changed=0
        if change "install $path"; then
            mkdir -p "$(dirname "$target")"
            cp "$src" "$target.pvopt-new"
            chmod "$mode" "$target.pvopt-new"
            on_machine && chown "$owner" "$target.pvopt-new"
            mv -f "$target.pvopt-new" "$target"
        fi
        return "$changed"
    fi
    if [ "$(stat -c %a "$target")" != "${mode#0}" ]; then
        change "chmod $mode $path" && chmod "$mode" "$target"
        changed=0
    fi
    if ! owner_ok "$target" "$owner"; then
        change "chown $owner $path" && chown "$owner" "$target"
        changed=0
    fi
    return "$changed"
}

# remove PATH...: delete files or trees of the target system that exist.
remove() {
    local path
    for path in "$@"; do
        if [ -e "$(p "$path")" ] || [ -L "$(p "$path")" ]; then
            change "remove $path" && rm -rf "$(p "$path")"
        fi
    done
    return 0
}

# env_value FILE KEY: the value of KEY=... in FILE (not sourced: never executed).
env_value() {
    [ -f "$1" ] || return 0
    sed -n "s/^$2=//p" "$1" | tail -n 1
}

# password: 24 random letters and digits (about 143 bits; no quoting needed anywhere).
password() {
    local pw=""
    while [ ${#pw} -lt 24 ]; do
        pw+=$(head -c 64 /dev/urandom | tr -dc 'A-Za-z0-9' || true)
    done
    printf '%s' "${pw:0:24}"
}

is_pi() {
    local model
    model=$(tr -d '\0' 2>/dev/null <"$(p /proc/device-tree/model)" || true)
    [[ $model == *"Raspberry Pi"* ]]
}

# -- packages, user -------------------------------------------------------------------------

package_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # Never a question about a configuration file changed locally: it is kept.
    apt-get install -y -q --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}

install_packages() {
    local missing=() pkg
    if ! on_machine; then
        say "skipped (--root): apt-get install -y ${APT_PACKAGES[*]}"
        return 0
    fi
    for pkg in "${APT_PACKAGES[@]}"; do
        package_installed "$pkg" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    system "apt-get install -y ${missing[*]}" apt_install "${missing[@]}"
}

create_user() {
    if ! on_machine; then
        say "skipped (--root): useradd --system pvopt, in group dialout"
        return 0
    fi
    if ! id pvopt >/dev/null 2>&1; then
        system "create system user pvopt (group pvopt, supplementary group dialout)" \
            useradd --system --user-group --groups dialout --home-dir "$STATE" \
            --no-create-home --shell /usr/sbin/nologin pvopt
    elif ! id -nG pvopt | tr ' ' '\n' | grep -qx dialout; then
        system "add user pvopt to group dialout" usermod -aG dialout pvopt
    fi
}

# -- files under /etc/pvopt -----------------------------------------------------------------

write_env_file() {
    local target
    target=$(p "$ENV_FILE")
    if [ -f "$target" ]; then
        install_file "$target" "$ENV_FILE" 0600 root:root || true  # mode and owner only
        return 0
    fi
    cat >"$TMP/pvopt.env" <<EOF
# Environment of the pvopt daemons (systemd EnvironmentFile=, read as root).
# Generated once by install.sh, which never overwrites it: edit it, then
#   systemctl restart teleinfo power_regulation pvopt_web
# Every variable: README.md, "Configuration (environment)".
MQTT_BROKER_HOST=localhost
MQTT_BROKER_PORT=1883
MQTT_USERNAME=pvopt
MQTT_PASSWORD=$(password)
INFLUXDB_HOST=localhost
INFLUXDB_PORT=$INFLUX_PORT
INFLUXDB_DATABASE=$DATABASE
INFLUXDB_USERNAME=pvopt
INFLUXDB_PASSWORD=$(password)
TELEINFO_PORT=$TIC_PORT
TELEINFO_MODE=auto
PVOPT_CONFIG=$CONFIG
PVOPT_STATE_DIR=$STATE
PVOPT_LOG_LEVEL=INFO
TZ=Europe/Paris
# HC_START_TIME=02:05
# HC_END_TIME=06:50
# HA_DISCOVERY=on
EOF
    install_file "$TMP/pvopt.env" "$ENV_FILE" 0600 root:root || true
    RESTART_PVOPT=1
}

write_secrets() {
    local target
    target=$(p "$SECRETS")
    if [ ! -f "$target" ]; then
        cat >"$TMP/secrets.env" <<EOF
# Generated once by install.sh (never overwritten). InfluxDB's administrator:
INFLUXDB_ADMIN_USER=admin
INFLUXDB_ADMIN_PASSWORD=$(password)
EOF
        install_file "$TMP/secrets.env" "$SECRETS" 0600 root:root || true
    else
        install_file "$target" "$SECRETS" 0600 root:root || true
    fi
}

# The python that runs pvopt for check-config and to read the device ids.
pvopt_python() {
    if [ "$VENV_PLAN" = 1 ]; then
        printf '%s' "$PYTHON"
    else
        printf '%s' "$(p "$VENV")/bin/python"
    fi
}

run_pvopt_python() {
    local py
    py=$(pvopt_python)
    if [ "$VENV_PLAN" = 1 ]; then # no venv: the checkout itself
        env -i PATH="$PATH" LANG=C.UTF-8 TZ=Europe/Paris PYTHONPATH="$SRC" "$py" "$@"
    else
        env -i PATH="$PATH" LANG=C.UTF-8 TZ=Europe/Paris "$py" "$@"
    fi
}

install_config() {
    local target
    target=$(p "$CONFIG")
    if [ ! -f "$target" ]; then
        install_file "$SRC/equipment_config.yml.template" "$CONFIG" 0640 pvopt:pvopt || true
        RESTART_PVOPT=1
    else
        install_file "$target" "$CONFIG" 0640 pvopt:pvopt || true
    fi
    if [ ! -f "$target" ]; then
        say "would: check $CONFIG with pvopt check-config"
        return 0
    fi
    if [ ! -x "$(pvopt_python)" ] && ! command -v "$(pvopt_python)" >/dev/null; then
        say "would: check $CONFIG with pvopt check-config (no venv yet)"
        return 0
    fi
    if ! run_pvopt_python -m pvopt check-config "$target" >"$TMP/check.out" 2>&1; then
        cat "$TMP/check.out" >&2
        die "$CONFIG is not valid (above): fix it, then run install.sh again"
    fi
    say "checked $CONFIG: $(head -n 1 "$TMP/check.out" | sed 's/^.*: OK, //')"
}

# pvopt web's password: generated once (never overwritten), only its hash on disk; the
# password itself is printed at the end of this run, and nowhere else.
web_password() {
    local target
    target=$(p "$WEB_PASSWORD")
    if [ -f "$target" ]; then
        install_file "$target" "$WEB_PASSWORD" 0600 pvopt:pvopt || true # mode and owner only
        return 0
    fi
    if [ "$DRY_RUN" = 1 ] || { [ ! -x "$(pvopt_python)" ] && ! command -v "$(pvopt_python)" >/dev/null; }; then
        change "generate pvopt web's password ($WEB_PASSWORD: its hash only)" || true
        return 0
    fi
    change "generate pvopt web's password ($WEB_PASSWORD: its hash only)"
    if ! run_pvopt_python -m pvopt web --set-password --password-file "$target" >"$TMP/web-password.out" 2>&1; then
        grep -v '^pvopt web password: ' "$TMP/web-password.out" >&2 || true
        die "cannot make pvopt web's password (above)"
    fi
    chmod 0600 "$target"
    on_machine && chown pvopt:pvopt "$target"
    WEB_PASSWORD_SHOWN=$(sed -n 's/^pvopt web password: //p' "$TMP/web-password.out")
    rm -f "$TMP/web-password.out"
    RESTART_PVOPT=1
}

web_address() {
    local ip=""
    on_machine && ip=$(hostname -I 2>/dev/null | awk '{print $1}')
    printf 'http://%s:8080/' "${ip:-<this machine>}"
}

# Ids of the equipment in the config: each one is a device's MQTT user name.
device_ids() {
    local target
    target=$(p "$CONFIG")
    [ -f "$target" ] || return 0
    [ -x "$(pvopt_python)" ] || command -v "$(pvopt_python)" >/dev/null || return 0
    run_pvopt_python - "$target" <<'EOF'
import sys

import yaml

with open(sys.argv[1], encoding="utf-8") as f:
    document = yaml.safe_load(f) or {}
for item in document.get("equipment") or []:
    if isinstance(item, dict) and item.get("id") is not None:
        print(item["id"])
EOF
}

write_mqtt_users() {
    local target id reserved line
    target=$(p "$MQTT_USERS")
    if [ -f "$target" ]; then
        cp "$target" "$TMP/mqtt-users.txt"
    else
        cat >"$TMP/mqtt-users.txt" <<'EOF'
# MQTT users of the broker besides the daemons' "pvopt" (whose password is in pvopt.env):
# user name, then password. install.sh adds a line per new equipment id (a device logs
# in with its id) and never changes a line. Enter these in the devices' MQTT settings.
EOF
        printf 'homeassistant %s\n' "$(password)" >>"$TMP/mqtt-users.txt"
    fi
    while read -r id; do
        [ -n "$id" ] || continue
        reserved=0
        for line in "${RESERVED_MQTT_USERS[@]}"; do [ "$id" = "$line" ] && reserved=1; done
        if [ "$reserved" = 1 ]; then
            warn "equipment id '$id' is also an MQTT user of pvopt: no device user for it"
            continue
        fi
        if ! awk -v u="$id" '$1 == u { found = 1 } END { exit !found }' "$TMP/mqtt-users.txt"; then
            printf '%s %s\n' "$id" "$(password)" >>"$TMP/mqtt-users.txt"
        fi
    done < <(device_ids)
    install_file "$TMP/mqtt-users.txt" "$MQTT_USERS" 0600 root:root || true
}

# -- mosquitto ------------------------------------------------------------------------------

mosquitto_files() {
    if install_file "$SRC/deploy/mosquitto/pvopt.conf" "$MOSQ_CONF" 0644 root:root; then
        RESTART_MOSQUITTO=1
    fi
    if install_file "$SRC/deploy/mosquitto/pvopt.acl" "$MOSQ_ACL" 0640 root:mosquitto; then
        RESTART_MOSQUITTO=1
    fi
    # Users: pvopt (pvopt.env), then every line of mqtt-users.txt. A user already in the
    # password file keeps its hash (salted: hashing again would change the file).
    local passwd plain user pw
    passwd=$(p "$MOSQ_PASSWD")
    plain=$TMP/passwd.plain
    : >"$plain"
    {
        printf 'pvopt %s\n' "$(env_value "$(p "$ENV_FILE")" MQTT_PASSWORD)"
        grep -v '^#' "$(p "$MQTT_USERS")" 2>/dev/null || true
    } | while read -r user pw; do
        [ -n "$user" ] || continue
        if [ -z "$pw" ] && [ "$DRY_RUN" = 0 ]; then
            warn "MQTT user $user has no password (pvopt.env or mqtt-users.txt): not added"
            continue
        fi
        if [ -f "$passwd" ] && awk -F: -v u="$user" '$1 == u { found = 1 } END { exit !found }' "$passwd"; then
            continue
        fi
        printf '%s:%s\n' "$user" "$pw" >>"$plain"
    done
    if [ -s "$plain" ]; then
        local users
        users=$(cut -d: -f1 "$plain" | tr '\n' ' ')
        if change "add MQTT users to $MOSQ_PASSWD: ${users% }"; then
            command -v mosquitto_passwd >/dev/null || die "mosquitto_passwd not found (package mosquitto)"
            mosquitto_passwd -U "$plain" # hashes the file in place: no password on a command line
            mkdir -p "$(dirname "$passwd")"
            [ -f "$passwd" ] && cat "$passwd" >"$TMP/passwd.new"
            cat "$plain" >>"$TMP/passwd.new"
            install -m 0640 "$TMP/passwd.new" "$passwd"
            on_machine && chown root:mosquitto "$passwd"
        fi
        RESTART_MOSQUITTO=1
    elif [ -f "$passwd" ]; then
        install_file "$passwd" "$MOSQ_PASSWD" 0640 root:mosquitto || true
    fi
}

# -- InfluxDB -------------------------------------------------------------------------------

influx_defaults() {
    # HTTP on loopback only, with authentication (the Debian package listens on every
    # interface without): influxd reads INFLUXDB_* overrides from /etc/default/influxdb.
    local target=/etc/default/influxdb
    if [ -f "$(p "$target")" ]; then
        cp "$(p "$target")" "$TMP/influxdb.default"
    else
        printf '# Read by influxdb.service (EnvironmentFile=).\n' >"$TMP/influxdb.default"
    fi
    set_env_line "$TMP/influxdb.default" INFLUXDB_HTTP_BIND_ADDRESS "127.0.0.1:$INFLUX_PORT"
    set_env_line "$TMP/influxdb.default" INFLUXDB_HTTP_AUTH_ENABLED true
    if install_file "$TMP/influxdb.default" "$target" 0644 root:root; then
        RESTART_INFLUXDB=1
    fi
}

# set_env_line FILE KEY VALUE: KEY=VALUE replaces a KEY= line, or is appended.
set_env_line() {
    if grep -q "^$2=" "$1"; then
        sed -i "s|^$2=.*|$2=$3|" "$1"
    else
        printf '%s=%s\n' "$2" "$3" >>"$1"
    fi
}

influx_up() {
    if command -v curl >/dev/null; then # /ping answers 204 once influxd serves queries
        curl -fsS -o /dev/null --max-time 2 "http://$INFLUX_HOST:$INFLUX_PORT/ping" 2>/dev/null
    else
        (exec 3<>"/dev/tcp/$INFLUX_HOST/$INFLUX_PORT") 2>/dev/null
    fi
}

# influx_q QUERY: run InfluxQL as the admin; CSV on stdout.
influx_q() {
    INFLUX_USERNAME=admin INFLUX_PASSWORD=$(env_value "$(p "$SECRETS")" INFLUXDB_ADMIN_PASSWORD) \
        influx -host "$INFLUX_HOST" -port "$INFLUX_PORT" -format csv -execute "$1"
}

influx_provision() {
    if ! on_machine && [ "$INFLUX_FORCE" = 0 ]; then
        say "skipped (--root): InfluxDB users admin, pvopt, grafana; database $DATABASE, retention policy $RETENTION_POLICY $RETENTION_DURATION"
        return 0
    fi
    if [ "$DRY_RUN" = 1 ] && [ ! -f "$(p "$SECRETS")" ]; then
        change "create InfluxDB users admin, pvopt, grafana; database $DATABASE, retention policy $RETENTION_POLICY" || true
        return 0
    fi
    command -v influx >/dev/null || die "the influx command is missing (package influxdb-client)"
    local tries=0
    until influx_up; do
        tries=$((tries + 1))
        [ $tries -le 60 ] || die "InfluxDB does not answer on $INFLUX_HOST:$INFLUX_PORT (systemctl status influxdb)"
        sleep 0.5
    done
    local users admin_pw pvopt_pw grafana_pw
    admin_pw=$(env_value "$(p "$SECRETS")" INFLUXDB_ADMIN_PASSWORD)
    pvopt_pw=$(env_value "$(p "$ENV_FILE")" INFLUXDB_PASSWORD)
    grafana_pw=$(env_value "$(p "$GRAFANA_ENV")" PVOPT_GRAFANA_INFLUX_PASSWORD)
    users=$(influx_q "SHOW USERS" 2>/dev/null || true)
    if ! grep -q '^admin,' <<<"$users"; then
        # Allowed without credentials while the server has no user at all.
        if change "create InfluxDB administrator admin"; then
            influx -host "$INFLUX_HOST" -port "$INFLUX_PORT" \
                -execute "CREATE USER admin WITH PASSWORD '$admin_pw' WITH ALL PRIVILEGES" >/dev/null ||
                die "cannot create InfluxDB's admin: a server that already has users needs INFLUXDB_ADMIN_PASSWORD of an administrator in $SECRETS"
        fi
    fi
    if ! influx_q "SHOW DATABASES" | grep -qx "databases,$DATABASE"; then
        change "create InfluxDB database $DATABASE" && influx_q "CREATE DATABASE $DATABASE" >/dev/null
    fi
    if ! influx_q "SHOW RETENTION POLICIES ON $DATABASE" | grep -q "^$RETENTION_POLICY,"; then
        change "create retention policy $RETENTION_POLICY ($RETENTION_DURATION, default) on $DATABASE" &&
            influx_q "CREATE RETENTION POLICY $RETENTION_POLICY ON $DATABASE DURATION $RETENTION_DURATION REPLICATION 1 DEFAULT" >/dev/null
    fi
    if ! grep -q '^pvopt,' <<<"$users" && [ -n "$pvopt_pw" ]; then
        change "create InfluxDB user pvopt (ALL on $DATABASE)" &&
            influx_q "CREATE USER pvopt WITH PASSWORD '$pvopt_pw'" >/dev/null &&
            influx_q "GRANT ALL ON $DATABASE TO pvopt" >/dev/null
    fi
    if [ "$GRAFANA" = 1 ] && ! grep -q '^grafana,' <<<"$users" && [ -n "$grafana_pw" ]; then
        change "create InfluxDB user grafana (READ on $DATABASE)" &&
            influx_q "CREATE USER grafana WITH PASSWORD '$grafana_pw'" >/dev/null &&
            influx_q "GRANT READ ON $DATABASE TO grafana" >/dev/null
    fi
    return 0
}

# -- Grafana --------------------------------------------------------------------------------

grafana_package() {
    if ! on_machine; then
        say "skipped (--root): Grafana's apt repository and apt-get install grafana"
        return 0
    fi
    package_installed grafana && return 0
    if [ "$DRY_RUN" = 1 ]; then
        change "add Grafana's apt repository (apt.grafana.com) and apt-get install grafana" || true
        return 0
    fi
    local key=$TMP/grafana.asc
    if ! curl -fsSL --max-time 30 -o "$key" https://apt.grafana.com/gpg-full.key; then
        warn "Grafana's apt repository (apt.grafana.com) cannot be reached: Grafana is not installed. The rest goes on; run install.sh again once online (or --no-grafana)."
        return 0
    fi
    change "add Grafana's apt repository (/etc/apt/sources.list.d/grafana.list)"
    install -D -m 0644 "$key" /etc/apt/keyrings/grafana.asc
    echo "deb [signed-by=/etc/apt/keyrings/grafana.asc] https://apt.grafana.com stable main" \
        >/etc/apt/sources.list.d/grafana.list
    # GRAFANA_VERSION=11.3.0 ./install.sh pins the version; otherwise the repository's latest.
    if ! change "apt-get install -y grafana${GRAFANA_VERSION:+=$GRAFANA_VERSION}" ||
        ! apt_install "grafana${GRAFANA_VERSION:+=$GRAFANA_VERSION}"; then
        warn "apt-get install grafana failed: Grafana is not installed. The rest goes on."
    fi
    RESTART_GRAFANA=1
}

grafana_files() {
    local file
    # Its environment: /etc/pvopt/grafana.env, generated once and never overwritten, loaded
    # by a drop-in (the package's conffile /etc/default/grafana-server stays untouched).
    local target
    target=$(p "$GRAFANA_ENV")
    if [ -f "$target" ]; then
        cp "$target" "$TMP/grafana.env"
    else
        cat >"$TMP/grafana.env" <<EOF
# Environment of grafana-server (drop-in $GRAFANA_DROPIN).
# Generated once by install.sh, which never overwrites it. The provisioned InfluxDB
# datasource reads the database as this read-only user:
PVOPT_GRAFANA_INFLUX_USER=grafana
PVOPT_GRAFANA_INFLUX_PASSWORD=$(password)
# Grafana's "admin" password, taken when Grafana creates its database (first start):
GF_SECURITY_ADMIN_PASSWORD=$(password)
EOF
    fi
    install_file "$TMP/grafana.env" "$GRAFANA_ENV" 0600 root:root && RESTART_GRAFANA=1
    printf '[Service]\nEnvironmentFile=%s\n' "$GRAFANA_ENV" >"$TMP/grafana-dropin.conf"
    if install_file "$TMP/grafana-dropin.conf" "$GRAFANA_DROPIN" 0644 root:root; then
        RESTART_GRAFANA=1 DAEMON_RELOAD=1
    fi
    for file in "$SRC"/grafana/provisioning/datasources/*.yaml "$SRC"/grafana/provisioning/dashboards/*.yaml; do
        [ -f "$file" ] || continue
        install_file "$file" "/etc/grafana/provisioning/${file#"$SRC"/grafana/provisioning/}" 0644 root:root &&
            RESTART_GRAFANA=1
    done
    for file in "$SRC"/grafana/dashboards/*.json; do
        [ -f "$file" ] || continue
        install_file "$file" "$GRAFANA_DASHBOARDS/$(basename "$file")" 0644 root:root || true
    done
    [ -d "$SRC/grafana" ] || warn "no grafana/ folder in $SRC: nothing to provision"
    return 0
}

# -- venv -----------------------------------------------------------------------------------

# A fingerprint of the code to install: when the venv holds it already, nothing to do.
source_fingerprint() {
    (
        cd "$SRC"
        find pvopt pyproject.toml -type f \( -name '*.py' -o -name '*.toml' -o -name 'py.typed' \
            -o -name '*.html' -o -name '*.js' -o -name '*.css' \) \
            -print0 | LC_ALL=C sort -z | xargs -0 sha256sum
    ) | sha256sum | cut -d' ' -f1
}

install_venv() {
    local fingerprint stamp
    fingerprint=$(source_fingerprint)
    if [ "$VENV_PLAN" = 1 ]; then
        cat >"$TMP/venv.plan" <<EOF
# install.sh --venv-plan: the commands that build $VENV (not run).
# source $SRC, fingerprint $fingerprint
$PYTHON -m venv $VENV
$VENV/bin/pip install --no-cache-dir $SRC
EOF
        install_file "$TMP/venv.plan" /opt/pvopt/venv.plan 0644 root:root && RESTART_PVOPT=1
        return 0
    fi
    stamp=$(p "$VENV")/.pvopt-source
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fingerprint" ] && [ -x "$(p "$VENV")/bin/pvopt" ]; then
        return 0
    fi
    RESTART_PVOPT=1
    if [ ! -x "$(p "$VENV")/bin/python" ]; then
        change "create the venv $VENV ($PYTHON -m venv)" && "$PYTHON" -m venv "$(p "$VENV")"
    fi
    if change "pip install $SRC into $VENV"; then
        "$(p "$VENV")/bin/pip" install --quiet --no-cache-dir --disable-pip-version-check "$SRC"
        printf '%s\n' "$fingerprint" >"$stamp"
    fi
}

# -- systemd --------------------------------------------------------------------------------

unit_files() {
    local file
    for file in "$SRC"/systemd/*.service; do
        [ -f "$file" ] && printf '%s\n' "$file"
    done
    return 0
}

install_units() {
    local file name found=0
    while read -r file; do
        found=1
        name=$(basename "$file")
        if install_file "$file" "$UNITS_DIR/$name" 0644 root:root; then
            RESTART_PVOPT=1 DAEMON_RELOAD=1
        fi
    done < <(unit_files)
    [ "$found" = 1 ] || warn "no unit in $SRC/systemd/: no service installed"
}

enable_units() {
    local file name wanted
    if on_machine; then
        while read -r file; do
            service_up "$(basename "$file")" "$RESTART_PVOPT"
        done < <(unit_files)
        return 0
    fi
    # Under --root, `systemctl enable` is what it amounts to: a symlink per WantedBy=.
    while read -r file; do
        name=$(basename "$file")
        # shellcheck disable=SC2013 # WantedBy= takes several words
        for wanted in $(sed -n 's/^WantedBy=//p' "$file"); do
            local link=$UNITS_DIR/$wanted.wants/$name
            if [ "$(readlink "$(p "$link")" 2>/dev/null)" != "$UNITS_DIR/$name" ]; then
                if change "enable $name (symlink $link)"; then
                    mkdir -p "$(dirname "$(p "$link")")"
                    ln -sfn "$UNITS_DIR/$name" "$(p "$link")"
                fi
            fi
        done
    done < <(unit_files)
    say "skipped (--root): systemctl daemon-reload; start the services"
}

unit_known() {
    local dir
    for dir in /etc/systemd/system /lib/systemd/system /usr/lib/systemd/system; do
        [ -f "$dir/$1" ] && return 0
    done
    return 1
}

service_up() {
    # service_up NAME RESTART: enable, and start or restart a packaged service.
    local name=$1 restart=$2
    if ! on_machine; then
        [ "$restart" = 1 ] && say "skipped (--root): systemctl restart $name"
        return 0
    fi
    if ! unit_known "$name"; then # not installed (yet: --dry-run; or Grafana offline)
        [ "$DRY_RUN" = 1 ] && say "would: systemctl enable and start $name (once installed)"
        return 0
    fi
    if ! systemctl is-enabled -q "$name" 2>/dev/null; then
        system "systemctl enable $name" systemctl enable -q "$name"
    fi
    if [ "$restart" = 1 ]; then
        system "systemctl restart $name" systemctl restart "$name"
    elif ! systemctl is-active -q "$name"; then
        system "systemctl start $name" systemctl start "$name"
    fi
}

# -- Raspberry Pi serial port ---------------------------------------------------------------

check_serial() {
    case $(env_value "$(p "$ENV_FILE")" TELEINFO_PORT) in
    "" | /dev/ttyAMA0 | /dev/serial0 | /dev/ttyS0) ;;
    *)
        say "serial: TELEINFO_PORT is not the Pi's UART: its configuration is not checked"
        return 0
        ;;
    esac
    is_pi || return 0
    local boot=/boot/firmware model advice=()
    [ -f "$(p $boot/config.txt)" ] || boot=/boot
    local config cmdline
    config=$(grep -v '^[[:space:]]*#' "$(p $boot/config.txt)" 2>/dev/null || true)
    cmdline=$(cat "$(p $boot/cmdline.txt)" 2>/dev/null || true)
    model=$(tr -d '\0' <"$(p /proc/device-tree/model)")
    if [[ $model == *"Raspberry Pi 5"* ]]; then
        grep -qE '^[[:space:]]*dtparam=uart0(=on)?[[:space:]]*$' <<<"$config" ||
            advice+=("add 'dtparam=uart0=on' to $boot/config.txt (the GPIO 14/15 UART on a Pi 5)")
    else
        grep -qE '^[[:space:]]*enable_uart=1' <<<"$config" ||
            advice+=("add 'enable_uart=1' to $boot/config.txt")
        if ! grep -qE '^[[:space:]]*dtoverlay=(pi3-)?(disable-bt|miniuart-bt)' <<<"$config"; then
            advice+=("add 'dtoverlay=disable-bt' to $boot/config.txt: Bluetooth off the PL011, so that ttyAMA0 (with parity) is on GPIO 14/15; then: systemctl disable hciuart")
        fi
    fi
    if grep -qE 'console=(serial0|ttyAMA0|ttyS0)' <<<"$cmdline"; then
        advice+=("remove 'console=serial0,115200' from $boot/cmdline.txt (no serial console on the TIC's UART), or: raspi-config nonint do_serial_cons 1")
    fi
    if [ ${#advice[@]} -eq 0 ]; then
        say "serial: $model: UART ready for the TIC ($boot/config.txt, cmdline.txt)"
        return 0
    fi
    warn "serial: $model: the UART is not ready for the TIC on /dev/ttyAMA0:"
    local line
    for line in "${advice[@]}"; do warn "  - $line"; done
    warn "  then reboot (README_RASPBERRY_PI.md, 'The serial port'). install.sh changes no boot file."
}

# -- the two runs ---------------------------------------------------------------------------

do_install() {
    install_packages
    create_user
    ensure_dir /opt/pvopt 0755 root:root
    install_venv
    # Sticky and group-writable: pvopt web (user pvopt) writes equipment_config.yml, its
    # temporary file and its backups here; it cannot delete or replace root's files.
    ensure_dir "$ETC" 1770 root:pvopt
    write_env_file
    write_secrets
    install_config
    web_password
    write_mqtt_users
    ensure_dir "$STATE" 0750 pvopt:pvopt
    mosquitto_files
    influx_defaults
    if [ "$GRAFANA" = 1 ]; then
        grafana_package
        grafana_files
    fi
    install_units
    if on_machine && [ "$DAEMON_RELOAD" = 1 ]; then
        system "systemctl daemon-reload" systemctl daemon-reload
    fi
    service_up mosquitto.service "$RESTART_MOSQUITTO"
    service_up influxdb.service "$RESTART_INFLUXDB"
    influx_provision
    [ "$GRAFANA" = 1 ] && service_up grafana-server.service "$RESTART_GRAFANA"
    enable_units
    check_serial
}

do_uninstall() {
    local file name units=() wanted
    while read -r file; do units+=("$(basename "$file")"); done < <(unit_files)
    for name in teleinfo.service power_regulation.service pvopt_web.service; do
        [[ " ${units[*]} " == *" $name "* ]] || units+=("$name")
    done
    for name in "${units[@]}"; do
        [ -f "$(p "$UNITS_DIR/$name")" ] || continue
        if on_machine; then
            system "systemctl disable --now $name" systemctl disable -q --now "$name"
        fi
        for wanted in "$(p "$UNITS_DIR")"/*.wants/"$name"; do
            [ -L "$wanted" ] && remove "${wanted#"$ROOT"}"
        done
        remove "$UNITS_DIR/$name"
    done
    remove /opt/pvopt
    if [ "$PURGE" = 0 ]; then
        say "kept: $ETC (configuration, passwords), $STATE (data), the broker's users and the InfluxDB database; --purge removes them"
    else
        if { on_machine || [ "$INFLUX_FORCE" = 1 ]; } && command -v influx >/dev/null &&
            [ -f "$(p "$SECRETS")" ] && influx_up; then
            change "InfluxDB: DROP DATABASE $DATABASE, DROP USER pvopt, grafana, admin" && influx_drop
        elif ! on_machine; then
            say "skipped (--root): InfluxDB: DROP DATABASE $DATABASE, DROP USER pvopt, grafana, admin"
        fi
        local had_broker=0
        [ -e "$(p "$MOSQ_CONF")" ] && had_broker=1
        remove "$MOSQ_CONF" "$MOSQ_PASSWD" "$MOSQ_ACL" "$GRAFANA_DROPIN" "$GRAFANA_DASHBOARDS"
        for file in "$SRC"/grafana/provisioning/datasources/*.yaml "$SRC"/grafana/provisioning/dashboards/*.yaml; do
            [ -f "$file" ] && remove "/etc/grafana/provisioning/${file#"$SRC"/grafana/provisioning/}"
        done
        if revert_env_lines /etc/default/influxdb INFLUXDB_HTTP_BIND_ADDRESS INFLUXDB_HTTP_AUTH_ENABLED; then
            on_machine && system "systemctl restart influxdb" systemctl restart influxdb
        fi
        remove "$ETC" "$STATE"
        if on_machine; then
            [ "$had_broker" = 1 ] && system "systemctl restart mosquitto" systemctl restart mosquitto
            id pvopt >/dev/null 2>&1 && system "userdel pvopt" userdel pvopt
        fi
        say "kept: the Debian packages (mosquitto, influxdb, grafana); apt-get purge them if unused"
    fi
    if on_machine && [ "$CHANGES" -gt 0 ]; then
        system "systemctl daemon-reload" systemctl daemon-reload
    fi
}

# revert_env_lines FILE KEY...: remove the KEY= lines that install.sh added; the file too
# if nothing else is left in it. True when something was removed.
revert_env_lines() {
    local target=$1 prefix
    shift
    [ -f "$(p "$target")" ] || return 1
    cp "$(p "$target")" "$TMP/revert"
    for prefix in "$@"; do
        grep -v -- "^$prefix=" "$TMP/revert" >"$TMP/revert.new" || true
        mv "$TMP/revert.new" "$TMP/revert"
    done
    if ! grep -qvE '^(#.*)?$' "$TMP/revert"; then
        remove "$target"
    elif ! cmp -s "$TMP/revert" "$(p "$target")"; then
        change "remove pvopt's lines from $target" && cat "$TMP/revert" >"$(p "$target")"
    else
        return 1
    fi
    return 0
}

influx_drop() {
    influx_q "DROP DATABASE $DATABASE" >/dev/null
    influx_q "DROP USER pvopt" >/dev/null 2>&1 || true
    influx_q "DROP USER grafana" >/dev/null 2>&1 || true
    influx_q "DROP USER admin" >/dev/null 2>&1 || true # its password goes with secrets.env
}

[ -n "$ROOT" ] && say "installing into $ROOT (--root: the machine itself is not touched)"
if [ "$UNINSTALL" = 1 ]; then
    do_uninstall
else
    do_install
fi

if [ "$CHANGES" -eq 0 ] && [ "$UNINSTALL" = 1 ]; then
    say "nothing to do: nothing of pvopt left to remove${ROOT:+ in $ROOT}"
elif [ "$CHANGES" -eq 0 ]; then
    say "nothing to do: pvopt is ${ROOT:+installed in $ROOT and }up to date"
elif [ "$DRY_RUN" = 1 ]; then
    say "dry run: $CHANGES change(s) would be made; nothing was changed"
else
    say "done: $CHANGES change(s)"
    if [ "$UNINSTALL" = 0 ]; then
        say "next: edit $CONFIG (pvopt check-config), enter the MQTT passwords of $MQTT_USERS in the devices; README_RASPBERRY_PI.md"
    fi
    if [ -n "$WEB_PASSWORD_SHOWN" ]; then
        say ""
        say "pvopt web, the household's page: $(web_address)"
        say "  password: $WEB_PASSWORD_SHOWN"
        say "  (shown this once and stored nowhere: note it now; a new one: sudo $VENV/bin/pvopt web --set-password)"
    fi
fi
