"""``pvopt web``'s security against the real daemon on a free loopback port.

The daemon runs as ``python -m pvopt web`` (as systemd runs it), its password made by
``pvopt web --set-password``; the tests speak HTTP over real sockets (http.client, and raw
sockets for what a client library would refuse to send). No mock anywhere.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import re
import socket
import ssl
import stat
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.cookies import Morsel, SimpleCookie
from pathlib import Path

import pytest

from .conftest import HOST, Daemon, clean_env, find_binary, free_port, port_open, wait_until

pytestmark = pytest.mark.integration

#: What a traceback or an internal detail would look like in a body.
LEAKS = re.compile(r"Traceback|File \"|\.py\b|aiohttp|Exception", re.IGNORECASE)


def set_password(path: Path) -> str:
    """``pvopt web --set-password``: the password it printed."""
    result = subprocess.run(
        [sys.executable, "-m", "pvopt", "web", "--set-password", "--password-file", str(path)],
        capture_output=True,
        text=True,
        timeout=30,
        env=clean_env(),
        check=True,
    )
    match = re.search(r"^pvopt web password: (\S+)$", result.stdout, re.MULTILINE)
    assert match, result.stdout
    return match.group(1)


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    body: str
    cookies: dict[str, Morsel[str]]

    def header(self, name: str) -> str:
        return self.headers.get(name, "")


@dataclass
class Browser:
    """A client keeping its cookies, from a chosen source address (127.0.0.x)."""

    port: int
    source: str = HOST
    tls: ssl.SSLContext | None = None
    cookies: dict[str, str] = field(default_factory=dict)

    def request(
        self,
        method: str,
        path: str,
        body: str | bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        connection: http.client.HTTPConnection
        if self.tls is not None:
            connection = http.client.HTTPSConnection(
                HOST, self.port, timeout=10, source_address=(self.source, 0), context=self.tls
            )
        else:
            connection = http.client.HTTPConnection(
                HOST, self.port, timeout=10, source_address=(self.source, 0)
            )
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            connection.close()
        received: dict[str, Morsel[str]] = {}
        for line in response.headers.get_all("Set-Cookie") or []:
            jar: SimpleCookie = SimpleCookie()
            jar.load(line)
            for name, morsel in jar.items():
                received[name] = morsel
                if morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return Reply(response.status, response.headers, text, received)

    def form(self, path: str, **fields: str) -> Reply:
        return self.request(
            "POST",
            path,
            urllib.parse.urlencode(fields),
            {"Content-Type": "application/x-www-form-urlencoded"},
        )

    def login(self, password: str, forwarded_for: str | None = None) -> Reply:
        """The login form, sent as is or with an X-Forwarded-For header."""
        extra = {} if forwarded_for is None else {"X-Forwarded-For": forwarded_for}
        page = self.request("GET", "/login", headers=extra)
        token = re.search(r'name="login_token" value="([^"]+)"', page.body)
        assert token, page.body
        fields = {"password": password, "login_token": token.group(1)}
        return self.request(
            "POST",
            "/login",
            urllib.parse.urlencode(fields),
            {"Content-Type": "application/x-www-form-urlencoded", **extra},
        )

    def csrf(self) -> str:
        reply = self.request("GET", "/api/session")
        assert reply.status == 200, reply
        return str(json.loads(reply.body)["csrf"])


@dataclass
class WebDaemon:
    daemon: Daemon
    port: int
    password: str
    password_file: Path
    bodies: list[str] = field(default_factory=list)

    def browser(self, source: str = HOST, tls: ssl.SSLContext | None = None) -> Browser:
        return Browser(self.port, source, tls)


def start_web(tmp_path: Path, *extra: str, password: bool = True, **env: str) -> tuple[Daemon, int]:
    port = free_port()
    daemon = Daemon(
        ["--host", HOST, "--port", str(port), "--password-file", str(tmp_path / "pw"), *extra],
        # No broker: MQTT on a closed port (port 1), never a broker of the machine.
        clean_env(
            PVOPT_STATE_DIR=str(tmp_path), MQTT_BROKER_HOST=HOST, MQTT_BROKER_PORT="1", **env
        ),
        tmp_path / "web.log",
        command="web",
    )
    if password:
        wait_until(lambda: port_open(HOST, port) or not daemon.running(), 15, what="pvopt web")
        assert daemon.running(), daemon.log
    return daemon, port


@pytest.fixture
def web(tmp_path: Path) -> Iterator[WebDaemon]:
    password = set_password(tmp_path / "pw")
    daemon, port = start_web(tmp_path)
    running = WebDaemon(daemon, port, password, tmp_path / "pw")
    yield running
    assert daemon.stop() == 0, daemon.log
    # Nothing secret in the log, at DEBUG (access log on) and whatever the test did.
    assert password not in daemon.log
    assert "scrypt$" not in daemon.log


def refused_without_session(reply: Reply, path: str) -> bool:
    if path.startswith("/api/"):
        return reply.status == 401 and json.loads(reply.body) == {"error": "Not signed in"}
    return reply.status == 303 and reply.header("Location") == "/login"


ROUTES = [
    ("GET", "/"),
    ("HEAD", "/"),
    ("GET", "/api/session"),
    ("GET", "/api/live"),
    ("GET", "/api/events"),
    ("GET", "/api/settings"),
    ("POST", "/api/settings"),
    ("GET", "/api/settings/regulation"),
    ("GET", "/api/history/day"),
    ("GET", "/api/history/days?n=30"),
    ("GET", "/api/no-such-thing"),
    ("POST", "/api/session"),
    ("DELETE", "/api/session"),
    ("PUT", "/"),
    ("POST", "/logout"),
    ("GET", "/static/app.js"),
    ("GET", "/static/../shell.html"),
    ("GET", "/no-such-page"),
    ("GET", "/index.html"),
]


def test_without_a_session_every_route_but_the_login_page_is_refused(web: WebDaemon) -> None:
    browser = web.browser()
    for method, path in ROUTES:
        reply = browser.request(method, path)
        assert refused_without_session(reply, path), (method, path, reply.status, reply.body)
        assert "Set-Cookie" not in reply.headers, (method, path)
    assert browser.request("GET", "/login").status == 200
    assert browser.request("GET", "/static/style.css").status == 200  # the login page's own
    # A cookie that is no session's is no session.
    browser.cookies["pvopt_session"] = "A" * 43
    assert refused_without_session(browser.request("GET", "/api/session"), "/api/session")


def test_login_opens_a_session_whose_page_shows_it_and_its_logout_button(web: WebDaemon) -> None:
    browser = web.browser()
    reply = browser.login(web.password)
    assert reply.status == 303 and reply.header("Location") == "/"
    cookie = reply.cookies["pvopt_session"]
    assert cookie["httponly"] is True and cookie["samesite"] == "Strict"
    assert cookie["path"] == "/" and not cookie["secure"]  # no TLS here
    assert int(cookie["max-age"]) == 30 * 24 * 3600

    page = browser.request("GET", "/", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert page.status == 200 and page.header("Content-Type").startswith("text/html")
    assert "Signed in since" in page.body and "from 127.0.0.1" in page.body
    csrf = browser.csrf()
    assert f'<input type="hidden" name="csrf" value="{csrf}">' in page.body
    assert '<form method="post" action="/logout"' in page.body
    assert '<script type="module" src="/static/app.js">' in page.body

    session = json.loads(browser.request("GET", "/api/session").body)
    assert session["signed_in"] is True and session["client"] == "127.0.0.1"
    assert session["sessions"] == 1

    script = browser.request("GET", "/static/app.js")
    assert script.status == 200 and "javascript" in script.header("Content-Type")
    assert script.header("Cache-Control") == "no-cache"
    assert browser.request("GET", "/static/nope.js").status == 404  # with a session: 404
    assert browser.request("GET", "/no-such-page").status == 404
    assert browser.request("DELETE", "/", headers={"X-CSRF-Token": csrf}).status == 405

    # The page in French, from the browser's language, and the switch.
    french = browser.request("GET", "/", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert '<html lang="fr">' in french.body and "Se déconnecter" in french.body
    switched = browser.request("GET", "/?lang=en", headers={"Accept-Language": "fr"})
    assert '<html lang="en">' in switched.body and switched.cookies["pvopt_lang"].value == "en"
    kept = browser.request("GET", "/", headers={"Accept-Language": "fr"})
    assert '<html lang="en">' in kept.body


def test_every_response_carries_the_security_headers(web: WebDaemon) -> None:
    browser = web.browser()
    replies = [browser.request("GET", "/login"), browser.request("GET", "/api/session")]
    browser.login(web.password)
    replies += [browser.request("GET", p) for p in ("/", "/api/session", "/static/app.js")]
    for reply in replies:
        csp = reply.header("Content-Security-Policy")
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
        assert reply.header("X-Frame-Options") == "DENY"
        assert reply.header("X-Content-Type-Options") == "nosniff"
        assert reply.header("Referrer-Policy") == "no-referrer"
        assert reply.header("Server") == "pvopt"  # no framework nor version
    for reply in replies[:4]:
        assert reply.header("Cache-Control") == "no-store"


def test_a_missing_or_forged_csrf_token_is_refused_with_403(web: WebDaemon) -> None:
    browser = web.browser()
    browser.login(web.password)
    csrf = browser.csrf()
    other = web.browser("127.0.0.2")
    other.login(web.password)
    forged = [
        {},
        {"csrf": ""},
        {"csrf": "A" * len(csrf)},
        {"csrf": other.csrf()},  # another session's token
        {"csrf": browser.cookies["pvopt_session"]},  # the session cookie itself
    ]
    for fields in forged:
        reply = browser.form("/logout", **fields)
        assert reply.status == 403, fields
        assert reply.body == "403 Missing or wrong CSRF token\n"
    for headers in ({"X-CSRF-Token": "wrong"}, {"X-CSRF-Token": ""}):
        assert browser.request("POST", "/logout", headers=headers).status == 403
    for method in ("POST", "PUT", "DELETE"):
        reply = browser.request(method, "/api/session", headers={"X-CSRF-Token": "x"})
        assert reply.status == 403 and json.loads(reply.body)["error"].startswith("Missing")
    assert browser.request("GET", "/api/session").status == 200, "still signed in"
    # The login form has a token of its own too (scoped to /login).
    page = browser.request("GET", "/login")  # signed in: sent on to the page
    assert page.status == 303
    stranger = web.browser("127.0.0.3")
    stranger.request("GET", "/login")
    assert stranger.form("/login", password=web.password).status == 403
    assert stranger.form("/login", password=web.password, login_token="made-up").status == 403
    assert "pvopt_session" not in stranger.cookies
    # The right token in the header works as well as in the form.
    reply = browser.request("POST", "/logout", headers={"X-CSRF-Token": csrf})
    assert reply.status == 303 and reply.header("Location") == "/login"


def test_the_tenth_wrong_password_in_a_minute_is_refused_with_429(web: WebDaemon) -> None:
    browser = web.browser()
    for i in range(9):
        reply = browser.login(f"wrong-{i}")
        assert reply.status == 401, i
        assert "Wrong password" in reply.body or "incorrect" in reply.body
    began = time.monotonic()
    tenth = browser.login(web.password)  # the right one: refused without being checked
    assert tenth.status == 429
    retry_after = int(tenth.header("Retry-After"))
    assert 50 <= retry_after <= 60
    assert f"{retry_after} s" in tenth.body
    assert "pvopt_session" not in browser.cookies
    assert time.monotonic() - began < 2.0
    # Another address is not held back by this one's count (the global limit is 30).
    elsewhere = web.browser("127.0.0.2")
    assert elsewhere.login(web.password).status == 303
    web.daemon.wait_log("wrong password from 127.0.0.1 (9 in the last minute)")
    web.daemon.wait_log("login attempt refused from 127.0.0.1")


def test_a_forged_forwarded_for_does_not_escape_the_throttle(web: WebDaemon) -> None:
    """No trusted proxy (the default): X-Forwarded-For is the client's own text, so a new
    address in it for every attempt changes nothing: the tenth is refused."""
    browser = web.browser()
    for i in range(9):
        assert browser.login(f"wrong-{i}", forwarded_for=f"198.51.100.{i}").status == 401
    assert browser.login(web.password, forwarded_for="198.51.100.99").status == 429
    web.daemon.wait_log("wrong password from 127.0.0.1 (9 in the last minute)")


def test_behind_a_trusted_proxy_each_client_has_its_own_count(tmp_path: Path) -> None:
    """PVOPT_WEB_TRUSTED_PROXIES=127.0.0.1: from that peer (the proxy) the client is the
    address the proxy appended, whatever the client wrote before it; from another peer
    the header is ignored."""
    password = set_password(tmp_path / "pw")
    daemon, port = start_web(tmp_path, PVOPT_WEB_TRUSTED_PROXIES="127.0.0.1")
    proxy = Browser(port, "127.0.0.1")
    for i in range(9):  # the client forges the left part; the proxy appends its address
        reply = proxy.login(f"wrong-{i}", forwarded_for=f"203.0.113.{i}, 198.51.100.1")
        assert reply.status == 401
    assert proxy.login(password, forwarded_for="203.0.113.50, 198.51.100.1").status == 429
    daemon.wait_log("wrong password from 198.51.100.1 (9 in the last minute)")
    # another client behind the same proxy is not held back by that one's count
    assert Browser(port, "127.0.0.1").login(password, "198.51.100.2").status == 303
    # a peer that is not a trusted proxy cannot pose as another client
    direct = Browser(port, "127.0.0.2")
    for i in range(9):
        assert direct.login(f"wrong-{i}", forwarded_for=f"198.51.100.{10 + i}").status == 401
    assert direct.login(password, forwarded_for="198.51.100.3").status == 429
    daemon.wait_log("wrong password from 127.0.0.2 (9 in the last minute)")
    assert daemon.stop() == 0, daemon.log


def test_after_logout_the_session_is_refused(web: WebDaemon) -> None:
    browser = web.browser()
    browser.login(web.password)
    old_cookie = browser.cookies["pvopt_session"]
    csrf = browser.csrf()
    reply = browser.form("/logout", csrf=csrf)
    assert reply.status == 303 and reply.header("Location") == "/login"
    assert reply.cookies["pvopt_session"]["max-age"] == "0"
    assert "pvopt_session" not in browser.cookies
    browser.cookies["pvopt_session"] = old_cookie  # a copy of the cookie kept by a thief
    assert refused_without_session(browser.request("GET", "/"), "/")
    assert refused_without_session(browser.request("GET", "/api/session"), "/api/session")
    reply = browser.form("/logout", csrf=csrf)
    assert refused_without_session(reply, "/logout")


def raw(port: int, data: bytes, closes: bool = False) -> tuple[int, str]:
    """Send bytes as they are; the status and body of the answer (read by its length).
    ``closes``: the server must then close the connection at once (not read on)."""
    with socket.create_connection((HOST, port), timeout=10) as sock:
        # The server may answer and close before reading everything: fine.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed without an answer: {received!r}"
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        length = re.search(rb"(?im)^content-length: *(\d+)", head)
        while length and len(body) < int(length.group(1)):
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        if closes:
            sock.settimeout(2.0)
            with contextlib.suppress(ConnectionResetError):
                assert sock.recv(65536) == b"", "the connection stays open after the answer"
    return int(head.split(b" ", 2)[1]), body.decode("utf-8", "replace")


def test_a_huge_body_is_refused_with_413_and_errors_never_show_a_traceback(
    web: WebDaemon,
) -> None:
    browser = web.browser()
    browser.login(web.password)
    cookie = f"pvopt_session={browser.cookies['pvopt_session']}"
    csrf = browser.csrf()
    bodies: list[str] = []

    # Announced too big: refused before reading, signed in or not.
    for path, extra in (("/login", ""), ("/logout", f"Cookie: {cookie}\r\n")):
        status, body = raw(
            web.port,
            f"POST {path} HTTP/1.1\r\nHost: x\r\n{extra}Content-Type: "
            "application/x-www-form-urlencoded\r\nContent-Length: 100000000\r\n"
            "\r\n".encode()
            + b"a" * 1000,
            closes=True,  # the other 99,999,000 bytes are not waited for
        )
        assert status == 413, (path, body)
        bodies.append(body)
    # Not announced (chunked): refused once it passes the limit while being read.
    chunk = b"a" * 70_000
    status, body = raw(
        web.port,
        f"POST /logout HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".encode()
        + f"{len(chunk):x}\r\n".encode()
        + chunk
        + b"\r\n0\r\n\r\n",
    )
    assert status == 413, body
    bodies.append(body)
    # Malformed requests of every kind: 4xx with a reason.
    malformed = [
        b"NOT HTTP AT ALL\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        f"GET /%zz HTTP/1.1\r\nHost: x\r\nCookie: {cookie}\r\n\r\n".encode(),
        b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * 20_000 + b"\r\n\r\n",
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded"
        b"\r\nContent-Length: 21\r\nConnection: close\r\n\r\npassword=\xff\xfe&login_token",
        b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=zz"
        b"\r\nContent-Length: 20\r\nConnection: close\r\n\r\n--zz\r\nbroken\r\n\r\n",
    ]
    for request in malformed:
        status, body = raw(web.port, request)
        assert 400 <= status < 500, (request[:40], status, body)
        bodies.append(body)
    # A form with 10,000 fields, and a login form with a file for a password.
    many = "&".join(f"f{i}=1" for i in range(10_000))
    reply = browser.request(
        "POST",
        "/logout",
        many + f"&csrf={csrf}",
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert 400 <= reply.status < 500
    bodies.append(reply.body)
    page = web.browser("127.0.0.4")
    token = re.search(r'name="login_token" value="([^"]+)"', page.request("GET", "/login").body)
    assert token
    multipart = (
        '--b\r\nContent-Disposition: form-data; name="login_token"\r\n\r\n'
        f'{token.group(1)}\r\n--b\r\nContent-Disposition: form-data; name="password"; '
        'filename="x.txt"\r\nContent-Type: text/plain\r\n\r\nsecret\r\n--b--\r\n'
    )
    reply = page.request(
        "POST", "/login", multipart, {"Content-Type": "multipart/form-data; boundary=b"}
    )
    assert reply.status == 415  # the pages send URL-encoded forms only
    bodies.append(reply.body)
    for body in bodies:
        assert not LEAKS.search(body), body
    assert browser.request("GET", "/api/session").status == 200, "the server lives on"


def test_an_unexpected_error_is_a_500_without_its_details(tmp_path: Path) -> None:
    password = set_password(tmp_path / "pw")
    port = free_port()
    daemon = Daemon(
        ["--host", HOST, "--port", str(port), "--password-file", str(tmp_path / "pw")],
        clean_env(MQTT_BROKER_HOST=HOST, MQTT_BROKER_PORT="1"),
        tmp_path / "web.log",
        command="web",
        prelude=(
            "import pvopt.web.pages\n"
            "def broken(*args, **kwargs):\n"
            "    raise RuntimeError('secret detail of the fault')\n"
            "pvopt.web.pages.shell_page = broken"
        ),
    )
    try:
        wait_until(lambda: port_open(HOST, port), 15, what="pvopt web")
        browser = Browser(port)
        browser.login(password)
        reply = browser.request("GET", "/")
        assert reply.status == 500 and reply.body == "500 Internal Server Error\n"
        assert browser.request("GET", "/api/session").status == 200, "it serves on"
        daemon.wait_log("RuntimeError: secret detail of the fault")  # in the log only
    finally:
        assert daemon.stop() == 0, daemon.log


def test_parallel_wrong_passwords_cannot_slip_past_the_count(web: WebDaemon) -> None:
    attempts = []
    for _ in range(20):
        browser = web.browser()
        page = browser.request("GET", "/login")
        token = re.search(r'name="login_token" value="([^"]+)"', page.body)
        assert token
        attempts.append((browser, token.group(1)))
    barrier = threading.Barrier(len(attempts))
    statuses: list[int] = []

    def attempt(browser: Browser, token: str) -> None:
        barrier.wait()
        statuses.append(browser.form("/login", password="wrong", login_token=token).status)

    threads = [threading.Thread(target=attempt, args=a) for a in attempts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(statuses) == [401] * 9 + [429] * 11


def resident_kb(daemon: Daemon) -> int:
    """The daemon's resident memory (VmRSS), kB."""
    status = Path(f"/proc/{daemon.proc.pid}/status").read_text()
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    assert match, status
    return int(match.group(1))


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="Linux's /proc")
def test_password_checks_give_their_16_mib_back(web: WebDaemon) -> None:
    """Each check's scrypt buffer (16 MiB) is freed back to the system, not kept by the
    allocator after the first one (pvopt.io.allocator): 20 sign-ins cost no more memory
    than one (issue #16's 60 MB)."""
    assert web.browser().login(web.password).status == 303
    before = resident_kb(web.daemon)
    for _ in range(3):
        assert web.browser().login(web.password).status == 303
        assert web.browser().login("wrong").status == 401
    grown = resident_kb(web.daemon) - before
    assert grown < 8 * 1024, f"+{grown} kB after 6 more password checks"


def test_a_new_password_ends_every_session_and_only_it_opens_one(web: WebDaemon) -> None:
    browser = web.browser()
    browser.login(web.password)
    assert stat.S_IMODE(web.password_file.stat().st_mode) == 0o600
    assert web.password not in web.password_file.read_text()
    new = set_password(web.password_file)
    assert stat.S_IMODE(web.password_file.stat().st_mode) == 0o600
    wait_until(
        lambda: browser.request("GET", "/api/session").status == 401, 10, what="sessions ended"
    )
    web.daemon.wait_log("the password file changed: 1 session(s) ended")
    assert web.browser("127.0.0.2").login(web.password).status == 401
    assert web.browser("127.0.0.2").login(new).status == 303


def test_without_a_password_pvopt_web_does_not_start(tmp_path: Path) -> None:
    daemon, _ = start_web(tmp_path, password=False)
    assert daemon.proc.wait(20) == 2
    assert "no usable password" in daemon.log and "pvopt web --set-password" in daemon.log
    (tmp_path / "pw").write_text("not a hash\n")
    daemon, _ = start_web(tmp_path, password=False)
    assert daemon.proc.wait(20) == 2
    assert "not a pvopt password hash" in daemon.log
    assert "not a hash" not in daemon.log.replace("not a pvopt", "")


def test_with_a_certificate_it_speaks_tls_and_its_cookies_are_secure(tmp_path: Path) -> None:
    openssl = find_binary("openssl")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    password = set_password(tmp_path / "pw")
    daemon, port = start_web(tmp_path, "--cert", str(cert), "--key", str(key))
    try:
        tls = ssl.create_default_context(cafile=str(cert))
        browser = Browser(port, tls=tls)
        reply = browser.login(password)
        assert reply.status == 303
        assert reply.cookies["pvopt_session"]["secure"] is True
        assert browser.request("GET", "/api/session").status == 200
        with pytest.raises((http.client.HTTPException, OSError)):
            Browser(port).request("GET", "/login")  # plain HTTP gets no page
    finally:
        assert daemon.stop() == 0, daemon.log
