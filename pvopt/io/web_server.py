"""The aiohttp application of ``pvopt web``: routes, the session guard, security headers.

The one importer of aiohttp (with its callers in :mod:`pvopt.daemons.web`). The decisions
are pure and live in :mod:`pvopt.web` (:mod:`~pvopt.web.auth` for passwords, sessions,
CSRF and the throttle; :mod:`~pvopt.web.pages` and :mod:`~pvopt.web.i18n` for the HTML);
this module reads the clock, the password file and the request, and writes responses.

Routes: ``GET /login``, ``POST /login``, ``POST /logout``, ``GET /`` (the page shell),
``GET /api/session`` (JSON), ``GET /static/…``; with :func:`add_live` (the daemon's live
feed, :mod:`pvopt.io.live_feed`) ``GET /api/live`` (the snapshot, JSON) and
``GET /api/events`` (server-sent events) and ``GET /api/meter`` (the meter view,
:mod:`pvopt.web.meter`, JSON); with :func:`add_steer_routes`,
``GET /api/loads`` and ``POST /api/loads/{load}/mode|boost`` (JSON); with
:func:`add_settings_routes`, ``GET /api/settings``, ``POST /api/settings`` and
``GET /api/settings/regulation`` (JSON); with
:func:`add_history_routes`, ``GET /api/history/day`` and ``GET /api/history/days`` (JSON,
from InfluxDB). Anything else is 404.

- No session: ``/api/*`` → 401 (JSON), any other path → 303 to ``/login``. Only the
  login page and its style sheet are served without a session.
- A session's POST/PUT/PATCH/DELETE must carry its CSRF token (header ``X-CSRF-Token``
  or form field ``csrf``) → else 403. ``POST /login`` carries the login form's own token
  (also in a cookie scoped to ``/login``) → else 403.
- Login throttle: 429 with ``Retry-After`` before the password is looked at
  (:class:`~pvopt.web.auth.LoginThrottle`). Passwords are checked one at a time in a
  worker thread (scrypt takes 16 MiB and ~0.1–0.4 s), so parallel attempts cannot slip
  past the count and the event loop never waits on them.
- Bodies are limited to :data:`MAX_BODY_BYTES` (413, before reading when
  ``Content-Length`` says so); every 4xx/5xx is a short reason (JSON under ``/api/``),
  never a traceback: an unexpected error is logged and answered 500.
- Every response: a Content-Security-Policy without inline scripts or styles,
  ``frame-ancestors 'none'`` and ``X-Frame-Options: DENY``, ``nosniff``, no referrer,
  ``Cache-Control: no-store`` (static files: ``no-cache``), ``Server: pvopt``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from importlib import resources
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.web_request import FileField
from multidict import MultiDictProxy

from pvopt.equipment.check import MAX_CONFIG_BYTES, check_config_text, issue_document
from pvopt.io.config_store import ConfigWriteError, VersionMismatch, read_config, save_config
from pvopt.io.influx_reader import InfluxUnavailable
from pvopt.io.live_feed import LiveFeed
from pvopt.logthrottle import Throttle
from pvopt.web import auth, config_messages, history, i18n, pages, proxies, settings, steer
from pvopt.web.meter import meter_document

_LOG = logging.getLogger(__name__)

SESSION_COOKIE = "pvopt_session"
LOGIN_COOKIE = "pvopt_login"
LANG_COOKIE = "pvopt_lang"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf"
#: Request bodies larger than this are refused with 413 (the settings editor will need
#: the YAML file: well under this).
MAX_BODY_BYTES = 64 * 1024
#: The login form's token lives this long (s).
LOGIN_FORM_MAX_AGE_S = 3600
#: Assets served without a session (the login page's own).
PUBLIC_STATIC = frozenset({"/static/style.css"})
FORM = "application/x-www-form-urlencoded"
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Server": "pvopt",
}


class PasswordFileError(Exception):
    """The password file is missing or unreadable (the message names the file only)."""


class PasswordFile:
    """The stored hash, read again whenever the file changes (``--set-password`` while
    the server runs takes effect at once, and ends every open session)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._stamp: tuple[int, int, int] | None = None
        self._hash: auth.PasswordHash | None = None

    def _stat(self) -> tuple[int, int, int]:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            raise PasswordFileError(f"{self.path} does not exist") from None
        except OSError as exc:
            raise PasswordFileError(f"{self.path}: {exc.strerror}") from None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def load(self) -> auth.PasswordHash:
        """The current hash (read again if the file changed)."""
        stamp = self._stat()
        if self._hash is None or stamp != self._stamp:
            try:
                text = self.path.read_text("utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise PasswordFileError(f"{self.path}: cannot read it ({exc})") from None
            try:
                self._hash = auth.parse_hash(text)
            except auth.PasswordHashError as exc:
                raise PasswordFileError(f"{self.path}: {exc}") from None
            self._stamp = stamp
        return self._hash

    def changed(self) -> bool:
        """True when the file differs from the one last loaded (and loads it)."""
        before = self._hash
        try:
            after = self.load()
        except PasswordFileError:
            return False
        return before is not None and after != before


@dataclass(frozen=True)
class WebOptions:
    """How the application behaves (the daemon builds it from the settings)."""

    password_file: Path
    secure_cookies: bool = False
    tz: tzinfo = UTC
    max_body_bytes: int = MAX_BODY_BYTES
    #: Reverse proxies whose X-Forwarded-For names the client (:mod:`pvopt.web.proxies`).
    trusted_proxies: tuple[proxies.Network, ...] = ()


class WebState:
    """What the handlers share: the sessions, the throttle, the password, the clocks."""

    def __init__(
        self,
        options: WebOptions,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.options = options
        self.clock = clock
        self.wall = wall
        self.sessions = auth.SessionStore()
        self.throttle = auth.LoginThrottle()
        self.password = PasswordFile(options.password_file)
        self.verify_lock = asyncio.Lock()
        #: One thread for every password check: scrypt takes 16 MiB, and glibc, left to
        #: its dynamic mmap threshold, keeps that much per thread that ran one (20
        #: sign-ins on the default pool's threads took the daemon from 44 to 76–92 MB;
        #: benchmarks/bench_web.py). ``pvopt web`` holds the threshold at start
        #: (:mod:`pvopt.io.allocator`): each check's 16 MiB then goes back when freed.
        self.verifier = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pvopt-web-kdf")
        self.log_throttle = Throttle(_LOG)
        self.shell_template = resources.files("pvopt.web").joinpath("shell.html").read_text("utf-8")

    def check_password_file(self) -> None:
        """End every session if the password changed (called periodically)."""
        if self.password.changed():
            ended = self.sessions.revoke_all()
            _LOG.warning("the password file changed: %d session(s) ended", ended)


STATE = web.AppKey("state", WebState)
SESSION = "pvopt.session"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _state(request: web.Request) -> WebState:
    return request.app[STATE]


def _session(request: web.Request) -> auth.Session:
    session = request.get(SESSION)
    assert isinstance(session, auth.Session)  # the guard put it there
    return session


def _lang(request: web.Request) -> i18n.Lang:
    return i18n.choose(
        request.query.get("lang"),
        request.cookies.get(LANG_COOKIE),
        request.headers.get("Accept-Language"),
    )


def _client(request: web.Request) -> str:
    """The client's address for the login throttle and the logs: the peer, or behind a
    trusted reverse proxy the one its X-Forwarded-For names (:mod:`pvopt.web.proxies`)."""
    trusted = _state(request).options.trusted_proxies
    return proxies.client_address(
        request.remote, request.headers.getall("X-Forwarded-For", ()), trusted
    )


def _remember_lang(request: web.Request, response: web.StreamResponse) -> None:
    lang = request.query.get("lang")
    if lang in i18n.LANGS and lang != request.cookies.get(LANG_COOKIE):
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Strict",
            secure=_state(request).options.secure_cookies or None,
        )


def _error(request: web.Request, status: int, reason: str, **headers: str) -> web.Response:
    """A short error: JSON under /api/, plain text elsewhere; never a traceback."""
    if request.path.startswith("/api/"):
        response = web.json_response({"error": reason}, status=status)
    else:
        response = web.Response(text=f"{status} {reason}\n", status=status)
    response.headers.update(headers)
    return response


async def read_form(request: web.Request) -> MultiDictProxy[str | bytes | bytearray | FileField]:
    """The fields of a URL-encoded form (the only kind the pages send): 415 for another
    content type, 400 for a body that cannot be read as one, 413 past the size limit."""
    if request.content_type != FORM:
        raise web.HTTPUnsupportedMediaType(reason=f"Expected {FORM}")
    try:
        return await request.post()
    except web.HTTPException:
        raise
    except Exception:  # the parser's errors: malformed input, not a server fault
        raise web.HTTPBadRequest(reason="Malformed form") from None


# -- middlewares ----------------------------------------------------------------------------


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every HTTP error as a short reason; an unexpected exception logged, answered 500."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise  # redirects
        headers = {k: v for k, v in exc.headers.items() if k in ("Retry-After", "Allow")}
        return _error(request, exc.status, exc.reason, **headers)
    except (asyncio.CancelledError, ConnectionResetError):
        raise
    except Exception:
        _LOG.exception("unexpected error on %s %s", request.method, request.path)
        return _error(request, 500, "Internal Server Error")


@web.middleware
async def guard_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Body size, then the session, then the CSRF token of state-changing requests."""
    state = _state(request)
    length = request.content_length
    if length is not None and length > state.options.max_body_bytes:
        raise web.HTTPRequestEntityTooLarge(
            max_size=state.options.max_body_bytes, actual_size=length
        )
    if request.path == "/login" or request.path in PUBLIC_STATIC:
        return await handler(request)
    session = state.sessions.get(request.cookies.get(SESSION_COOKIE), state.clock())
    if session is None:
        if request.path.startswith("/api/"):
            raise web.HTTPUnauthorized(reason="Not signed in")
        raise web.HTTPSeeOther("/login")
    if request.method in STATE_CHANGING:
        supplied = request.headers.get(CSRF_HEADER)
        if supplied is None and request.content_type == FORM:
            field = (await read_form(request)).get(CSRF_FIELD)
            supplied = field if isinstance(field, str) else None
        if not auth.csrf_ok(session, supplied):
            raise web.HTTPForbidden(reason="Missing or wrong CSRF token")
    request[SESSION] = session
    return await handler(request)


async def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    if request.path.startswith("/static/") and response.status < 400:
        response.headers["Cache-Control"] = "no-cache"
    else:
        response.headers["Cache-Control"] = "no-store"


# -- handlers -------------------------------------------------------------------------------


def _login_response(
    request: web.Request, status: int = 200, error: str = "", **headers: str
) -> web.Response:
    # The form open in the browser keeps its token: a browser loads /login again behind
    # the user's back (its /favicon.ico is sent to /login; a second tab), and a new token
    # there would make the form already on screen "expired" (seen in Chromium).
    held = request.cookies.get(LOGIN_COOKIE)
    token = held if auth.is_token(held) else auth.new_token()
    assert token is not None
    lang = _lang(request)
    response = web.Response(
        text=pages.login_page(lang, token, error),
        status=status,
        content_type="text/html",
        headers=headers,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        path="/login",
        max_age=LOGIN_FORM_MAX_AGE_S,
        httponly=True,
        samesite="Strict",
        secure=_state(request).options.secure_cookies or None,
    )
    _remember_lang(request, response)
    return response


async def login_page(request: web.Request) -> web.StreamResponse:
    """GET /login: the form (or the page shell, when already signed in)."""
    state = _state(request)
    if state.sessions.get(request.cookies.get(SESSION_COOKIE), state.clock()) is not None:
        raise web.HTTPSeeOther("/")
    return _login_response(request)


def _refused(request: web.Request, refusal: auth.Refusal) -> web.Response:
    state = _state(request)
    state.log_throttle.report(
        f"throttle-{refusal.scope}",
        f"login attempt refused from {_client(request)}: too many wrong passwords "
        f"({'from this address' if refusal.scope == 'client' else 'from all addresses'})",
        state.clock(),
    )
    message = i18n.text("throttled", _lang(request), seconds=refusal.retry_after_s)
    return _login_response(request, 429, message, **{"Retry-After": str(refusal.retry_after_s)})


def _form_problem(request: web.Request, form: Any) -> web.Response | None:
    """The login form's own token and a password, or the response saying what is wrong."""
    token, password = form.get("login_token"), form.get("password")
    if not isinstance(token, str) or not auth.tokens_equal(
        token, request.cookies.get(LOGIN_COOKIE)
    ):
        return _login_response(request, 403, i18n.text("form_expired", _lang(request)))
    if not isinstance(password, str) or not password:
        return _login_response(request, 400, i18n.text("wrong_password", _lang(request)))
    return None


async def _verify(request: web.Request, password: str) -> web.Response | None:
    """Check ``password`` (one check at a time, in a worker thread); None when right,
    else the refusal (429: throttled meanwhile, 401: wrong, 503: no password file)."""
    state = _state(request)
    client = _client(request)
    async with state.verify_lock:
        refusal = state.throttle.check(client, state.clock())  # attempts queued meanwhile
        if refusal is not None:
            return _refused(request, refusal)
        try:
            stored = state.password.load()
        except PasswordFileError as exc:
            _LOG.error("login impossible: %s", exc)
            return _login_response(request, 503, i18n.text("no_password_file", _lang(request)))
        loop = asyncio.get_running_loop()
        good = await loop.run_in_executor(state.verifier, auth.verify_password, password, stored)
        if not good:
            count = state.throttle.failed(client, state.clock())
            _LOG.warning("wrong password from %s (%d in the last minute)", client, count)
            return _login_response(request, 401, i18n.text("wrong_password", _lang(request)))
    return None


async def login(request: web.Request) -> web.StreamResponse:
    """POST /login: throttle, form token, then the password."""
    state = _state(request)
    client = _client(request)
    refusal = state.throttle.check(client, state.clock())
    if refusal is not None:
        return _refused(request, refusal)
    form = await read_form(request)
    problem = _form_problem(request, form)
    if problem is None:
        password = form["password"]
        assert isinstance(password, str)
        problem = await _verify(request, password)
    if problem is not None:
        return problem
    state.throttle.succeeded(client)
    session = state.sessions.create(client, state.clock(), state.wall())
    _LOG.info("signed in from %s (%d session(s) open)", client, len(state.sessions))
    response = web.HTTPSeeOther("/")
    response.set_cookie(
        SESSION_COOKIE,
        session.token,
        path="/",
        max_age=int(state.sessions.max_age_s),
        httponly=True,
        samesite="Strict",
        secure=state.options.secure_cookies or None,
    )
    response.del_cookie(LOGIN_COOKIE, path="/login")
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    """POST /logout (CSRF checked by the guard): end the session."""
    state = _state(request)
    session = _session(request)
    state.sessions.revoke(session.token)
    _LOG.info("signed out from %s", _client(request))
    response = web.HTTPSeeOther("/login")
    response.del_cookie(
        SESSION_COOKIE,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=state.options.secure_cookies or None,
    )
    return response


def _wall_expiry(state: WebState, session: auth.Session) -> float:
    return state.wall() + (state.sessions.expires(session) - state.clock())


async def shell(request: web.Request) -> web.StreamResponse:
    """GET /: the page shell of a signed-in session."""
    state = _state(request)
    session = _session(request)
    info = pages.ShellInfo(
        lang=_lang(request),
        csrf=session.csrf,
        client=session.client,
        since=session.created_wall,
        until=_wall_expiry(state, session),
        sessions=len(state.sessions),
    )
    response = web.Response(
        text=pages.shell_page(state.shell_template, info, state.options.tz),
        content_type="text/html",
    )
    _remember_lang(request, response)
    return response


def _iso(when: float) -> str:
    return datetime.fromtimestamp(when, UTC).isoformat(timespec="seconds")


async def api_session(request: web.Request) -> web.StreamResponse:
    """GET /api/session: who is signed in, until when, and the CSRF token."""
    state = _state(request)
    session = _session(request)
    body: dict[str, Any] = {
        "signed_in": True,
        "client": session.client,
        "since": _iso(session.created_wall),
        "expires": _iso(_wall_expiry(state, session)),
        "sessions": len(state.sessions),
        "csrf": session.csrf,
        "lang": _lang(request),
    }
    return web.json_response(body, dumps=lambda o: json.dumps(o, separators=(",", ":")))


def static_dir() -> Path:
    """The folder of the static files shipped in the package."""
    return Path(str(resources.files("pvopt.web").joinpath("static")))


def build_app(
    options: WebOptions,
    clock: Callable[[], float] = time.monotonic,
    wall: Callable[[], float] = time.time,
) -> web.Application:
    """The application (routes, middlewares, headers); its :class:`WebState` at ``STATE``."""
    app = web.Application(
        middlewares=[errors_middleware, guard_middleware],
        client_max_size=options.max_body_bytes,
        client_max_fields=16,
    )
    app[STATE] = WebState(options, clock, wall)
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/", shell)
    app.router.add_get("/api/session", api_session)
    app.router.add_static("/static", static_dir(), follow_symlinks=False)
    app.on_response_prepare.append(_security_headers)
    app.on_cleanup.append(_stop_verifier)
    return app


async def _stop_verifier(app: web.Application) -> None:
    app[STATE].verifier.shutdown(wait=False, cancel_futures=True)


# -- steering (issue #16 "Steer") ----------------------------------------------------------


@dataclass
class SteeringBox:
    """The steering in use: replaced when the settings page saves a new file."""

    current: steer.Steering


STEERING = web.AppKey("steering", SteeringBox)
JSON = "application/json"


def _steering(request: web.Request) -> tuple[tuple[steer.Load, ...], steer.Publisher | None]:
    steering = request.app[STEERING].current
    if steering.loads is None:
        raise web.HTTPServiceUnavailable(reason=f"Steering unavailable: {steering.problem}")
    return steering.loads, steering.publisher


async def read_json(request: web.Request) -> object:
    """A JSON body: 415 for another content type, 400 when it is not JSON (NaN and
    Infinity included), 413 past the size limit."""
    if request.content_type != JSON:
        raise web.HTTPUnsupportedMediaType(reason=f"Expected {JSON}")
    raw = await request.read()  # bounded by client_max_size: 413 beyond it
    try:
        return json.loads(raw, parse_constant=steer.refuse_constant)
    except (ValueError, RecursionError):
        raise web.HTTPBadRequest(reason="Malformed JSON") from None


def _refusal(refused: steer.Refused) -> web.Response:
    return web.json_response({"error": refused.reason, "code": refused.code}, status=refused.status)


async def _send(
    request: web.Request,
    build: Callable[[tuple[steer.Load, ...], str, object], tuple[steer.Load, steer.Message]],
) -> web.StreamResponse:
    loads, publisher = _steering(request)
    body = await read_json(request)
    try:
        load, message = build(loads, request.match_info["load"], body)
    except steer.Refused as refused:
        return _refusal(refused)
    if publisher is None or not publisher.connected:
        return _refusal(
            steer.Refused(503, "broker_down", "the MQTT broker is unreachable: nothing was sent")
        )
    if not publisher.publish(message.topic, message.payload, message.qos, message.retain):
        return _refusal(
            steer.Refused(503, "broker_down", "the MQTT broker connection was lost: not sent")
        )
    _LOG.info("steer: %s %s (from %s)", message.topic, message.payload, _client(request))
    reply = {
        "status": "sent",
        "load": load.name,
        "id": load.id,
        "topic": message.topic,
        "payload": message.payload,
    }
    return web.json_response(reply, status=202)


async def api_loads(request: web.Request) -> web.StreamResponse:
    """GET /api/loads: the site's loads, the bounds of their controls, and the page's
    texts for them in the request's language."""
    loads, publisher = _steering(request)
    low, high = steer.BOOST_MINUTES
    body = {
        "loads": [load.as_json() for load in loads],
        "modes": list(steer.MODES),
        "boost_minutes": {"min": low, "max": high},
        "broker_connected": publisher is not None and publisher.connected,
        "texts": i18n.script_texts(_lang(request), "steer_", low=low, high=high),
    }
    return web.json_response(body)


async def api_mode(request: web.Request) -> web.StreamResponse:
    """POST /api/loads/{load}/mode {"mode": "AUTO" | "ON" | "OFF"}: 202 sent."""
    return await _send(request, steer.mode_request)


async def api_boost(request: web.Request) -> web.StreamResponse:
    """POST /api/loads/{load}/boost {"minutes": N, "power_w": P}: 202 sent."""
    return await _send(request, steer.boost_request)


def add_steer_routes(app: web.Application, steering: steer.Steering) -> None:
    """The steering routes (behind the same session, CSRF and size guard as every route):
    ``GET /api/loads``, ``POST /api/loads/{load}/mode``, ``POST /api/loads/{load}/boost``.
    A 202 says the control message was *sent*; what it did shows in the regulation's own
    status. 4xx with a reason for a bad request, 503 when it cannot be sent."""
    app[STEERING] = SteeringBox(steering)
    app.router.add_get("/api/loads", api_loads)
    app.router.add_post("/api/loads/{load}/mode", api_mode)
    app.router.add_post("/api/loads/{load}/boost", api_boost)


# -- settings (issue #16 "Settings"): equipment_config.yml shown, checked, saved ----------

SETTINGS = web.AppKey("settings", settings.SettingsSite)
SETTINGS_LOCK = web.AppKey("settings_lock", asyncio.Lock)


async def api_settings(request: web.Request) -> web.StreamResponse:
    """GET /api/settings: the file's text, path, version, newest backups, the size limit,
    the regulation's last confirmation and the view's texts."""
    site = request.app[SETTINGS]
    try:
        stored = await asyncio.to_thread(read_config, site.path)
    except OSError as exc:
        reason = f"Cannot read {site.path}: {exc.strerror}"
        raise web.HTTPInternalServerError(reason=reason) from None
    body = {
        "path": str(site.path),
        "exists": stored.exists,
        "text": stored.data.decode("utf-8", "replace"),
        "version": stored.version,
        "backups": list(stored.backups[: site.keep_backups]),
        "max_bytes": MAX_CONFIG_BYTES,
        "regulation": site.regulation,
        "texts": i18n.script_texts(_lang(request), "settings_"),
    }
    return web.json_response(body, dumps=_compact)


async def api_settings_regulation(request: web.Request) -> web.StreamResponse:
    """GET /api/settings/regulation: the regulation's own retained ``regulation/config``
    (what it runs, its last reload's result), null before it published one."""
    site = request.app[SETTINGS]
    connected = site.publisher is not None and site.publisher.connected
    return web.json_response({"regulation": site.regulation, "broker_connected": connected})


async def api_settings_save(request: web.Request) -> web.StreamResponse:
    """POST /api/settings {"text", "version"}: 422 with each problem's line, its English
    ``message`` and its ``message_fr`` (nothing written), 409 when the file changed since
    ``version``, 500 when it cannot be written (the old file intact); else 200: saved, the
    previous file backed up, the regulation asked to reload (``reload``: ``sent``, or
    ``not_sent`` with the broker away)."""
    site = request.app[SETTINGS]
    body = await read_json(request)
    try:
        wanted = settings.save_request(body)
    except steer.Refused as refused:
        return _refusal(refused)
    checked = check_config_text(wanted.text, site.path.name, site.settings_hc)
    if checked.site is None:
        errors = [config_messages.with_french(issue_document(i)) for i in checked.issues]
        reply = {"error": "the file is not valid: nothing was written", "code": "invalid"}
        return web.json_response({**reply, "errors": errors}, status=422)
    state = _state(request)
    now = datetime.fromtimestamp(state.wall(), state.options.tz)
    data = wanted.text.encode("utf-8")
    async with request.app[SETTINGS_LOCK]:
        try:
            saved = await asyncio.to_thread(
                save_config, site.path, data, wanted.version, now, site.keep_backups
            )
        except VersionMismatch as changed:
            reply = {
                "error": "the file changed since it was shown: nothing was written",
                "code": "changed",
                "version": changed.current,
            }
            return web.json_response(reply, status=409)
        except ConfigWriteError as exc:
            _LOG.error("settings: %s", exc)
            reply = {"error": f"{exc} (the previous file is intact)", "code": "write_failed"}
            return web.json_response(reply, status=500)
    _LOG.info("settings: %s saved by %s (backup %s)", site.path, _client(request), saved.backup)
    if STEERING in request.app:
        publisher = request.app[STEERING].current.publisher
        request.app[STEERING].current = steer.Steering(steer.loads_of(checked.site), publisher)
    message = settings.reload_message()
    publisher = site.publisher
    sent = (
        publisher is not None
        and publisher.connected
        and publisher.publish(message.topic, message.payload, message.qos, message.retain)
    )
    answer: dict[str, object] = {
        "status": "saved",
        "version": saved.version,
        "backup": saved.backup,
        "loads": len(checked.site.equipment),
        "reload": "sent" if sent else "not_sent",
    }
    return web.json_response(answer)


def add_settings_routes(app: web.Application, site: settings.SettingsSite) -> None:
    """The settings routes (behind the session, CSRF and size guard of every route)."""
    app[SETTINGS] = site
    app[SETTINGS_LOCK] = asyncio.Lock()
    app.router.add_get("/api/settings", api_settings)
    app.router.add_post("/api/settings", api_settings_save)
    app.router.add_get("/api/settings/regulation", api_settings_regulation)


# -- live (issue #16 "Live"): the snapshot and its stream ----------------------------------

LIVE = web.AppKey("live", LiveFeed)
#: A comment line on an idle stream this often (s): proxies and browsers keep it open.
HEARTBEAT_S = 15.0
#: An idle stream looks this often (s) whether its browser left or its session ended.
CHECK_S = 1.0
#: What the browser waits before reconnecting a dropped stream (ms, the SSE ``retry``).
RETRY_MS = 2000


def _compact(o: object) -> str:
    return json.dumps(o, separators=(",", ":"), allow_nan=False)


async def api_live(request: web.Request) -> web.StreamResponse:
    """GET /api/live: the live snapshot with the broker's state (JSON)."""
    return web.json_response(request.app[LIVE].document(), dumps=_compact)


async def api_meter(request: web.Request) -> web.StreamResponse:
    """GET /api/meter: every label of the last frame, STGE decoded, the frame rate and
    the rejected groups (JSON). Apart from the live snapshot: a frame's fifty labels
    would weigh on every push to every browser, and only the meter view needs them."""
    feed = request.app[LIVE]
    document = meter_document(feed.live, feed.wall(), _lang(request))
    return web.json_response(document, dumps=_compact)


def _gone(request: web.Request) -> bool:
    transport = request.transport
    return transport is None or transport.is_closing()


async def api_events(request: web.Request) -> web.StreamResponse:
    """GET /api/events: server-sent events, a snapshot on connect then one per change
    (coalesced) or expiry, a comment every :data:`HEARTBEAT_S` while idle. Ends on
    shutdown, with the session (logout, new password, expiry) or the client (noticed
    within :data:`CHECK_S`); 503 beyond the feed's cap on open streams."""
    state = _state(request)
    feed = request.app[LIVE]
    token = _session(request).token
    stream = feed.open_stream()
    if stream is None:
        raise web.HTTPServiceUnavailable(
            reason="Too many live streams", headers={"Retry-After": "10"}
        )
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream; charset=utf-8", "X-Accel-Buffering": "no"}
    )
    try:
        await response.prepare(request)
        await response.write(f"retry: {RETRY_MS}\n\n".encode("ascii"))
        written = state.clock()
        while True:
            data = await stream.get(CHECK_S)
            if stream.closed or _gone(request):
                break
            now = state.clock()
            if state.sessions.get(token, now) is None:
                break
            if data is None and now - written < HEARTBEAT_S:
                continue
            await response.write(b": ping\n\n" if data is None else f"data: {data}\n\n".encode())
            written = now
    except (ConnectionResetError, OSError):
        pass  # the browser went away
    finally:
        feed.close_stream(stream)
    return response


async def _close_live(app: web.Application) -> None:
    app[LIVE].close()


def add_live(app: web.Application, feed: LiveFeed) -> None:
    """The live routes, fed by ``feed``; its streams end when the application shuts down."""
    app[LIVE] = feed
    app.router.add_get("/api/live", api_live)
    app.router.add_get("/api/events", api_events)
    app.router.add_get("/api/meter", api_meter)
    app.on_shutdown.append(_close_live)


# -- history (issue #16 "History"): the curves of a day and the totals of the last days ---

#: Statements in, results out (:class:`pvopt.io.influx_reader.InfluxReader`); blocking.
HistorySource = Callable[[Sequence[str]], list[object]]


@dataclass
class History:
    """Where the history comes from, the threads its blocking reads run on, the days kept."""

    source: HistorySource
    timeout_s: float = 10.0
    kept: history.KeptDays = field(default_factory=history.KeptDays)
    #: Two reads at most at once: a burst of browsers queues rather than piling threads.
    workers: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(2, thread_name_prefix="pvopt-web-history")
    )


HISTORY = web.AppKey("history", History)


async def _read_history(request: web.Request, statements: Sequence[str]) -> list[object]:
    """The answers to ``statements``, off the event loop; 503 with the reason when the
    database is unreachable, failing or slower than the history's timeout."""
    wanted = request.app[HISTORY]
    loop = asyncio.get_running_loop()
    try:
        return await asyncio.wait_for(
            loop.run_in_executor(wanted.workers, wanted.source, statements), wanted.timeout_s
        )
    except InfluxUnavailable as exc:
        reason = str(exc)
    except TimeoutError:
        reason = f"InfluxDB did not answer within {wanted.timeout_s:g} s"
    _state(request).log_throttle.report(
        "history-unavailable", f"history unavailable: {reason}", _state(request).clock()
    )
    raise web.HTTPServiceUnavailable(reason=f"History unavailable: {reason}")


def _now(request: web.Request) -> datetime:
    return datetime.fromtimestamp(_state(request).wall(), UTC)


async def api_history_day(request: web.Request) -> web.StreamResponse:
    """GET /api/history/day?date=YYYY-MM-DD (today when absent): a day's curves."""
    tz, now = _state(request).options.tz, _now(request)
    try:
        day = history.parse_date(request.query.get("date"), now, tz)
    except history.BadRequest as exc:
        raise web.HTTPBadRequest(reason=exc.reason) from None
    query = history.day_query(day, tz)
    results = await _read_history(request, query.statements)
    document = history.day_document(history.day_history(query, results, now, tz))
    return web.json_response(document, dumps=_compact)


async def api_history_days(request: web.Request) -> web.StreamResponse:
    """GET /api/history/days?n=30 (1 … 31): each day's energy and €, oldest first."""
    tz, now = _state(request).options.tz, _now(request)
    try:
        count = history.parse_count(request.query.get("n"))
    except history.BadRequest as exc:
        raise web.HTTPBadRequest(reason=exc.reason) from None
    kept, clock = request.app[HISTORY].kept, _state(request).clock()
    found, ask = kept.split(history.last_days(count, now, tz), clock)
    fresh: tuple[history.DayTotals, ...] = ()
    if ask:
        query = history.days_query(ask, tz)
        results = await _read_history(request, query.statements)
        more = history.power_query(query, results, tz)  # days with powers but no index
        power = await _read_history(request, more.statements) if more is not None else []
        fresh = history.days_history(query, results, tz, power)
        for totals in fresh:
            if history.settled(totals.day, now, tz):
                kept.put(totals, clock)
    return web.json_response(history.days_document([*found, *fresh]), dumps=_compact)


async def _stop_history(app: web.Application) -> None:
    app[HISTORY].workers.shutdown(wait=False, cancel_futures=True)


def add_history_routes(
    app: web.Application, source: HistorySource, timeout_s: float = 10.0
) -> None:
    """The history routes (session-guarded as every route), read from ``source``:
    ``GET /api/history/day?date=`` and ``GET /api/history/days?n=`` (JSON, keys in
    :mod:`pvopt.web.history`). 400 with a reason for a bad date or count, 503 with a
    reason when the database cannot answer (never empty curves pretending zero)."""
    app[HISTORY] = History(source, timeout_s)
    app.router.add_get("/api/history/day", api_history_day)
    app.router.add_get("/api/history/days", api_history_days)
    app.on_cleanup.append(_stop_history)


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server TLS context (TLS 1.2 at least) from PEM files; OSError/SSLError if bad."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert, key)
    return context


class WebServer:
    """The application on a socket, started and stopped from the daemon's event loop."""

    def __init__(
        self,
        app: web.Application,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None = None,
        access_log: bool = False,
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self._runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=logging.getLogger("aiohttp.access") if access_log else None,
            shutdown_timeout=5.0,
            # A body left unread (413, a refusal before reading) is not drained for up to
            # 10 s as aiohttp does by default: the connection closes after the answer.
            lingering_time=0,
        )

    @property
    def state(self) -> WebState:
        """The application's shared state."""
        return self.app[STATE]

    @property
    def url(self) -> str:
        """Where it listens, for the log."""
        scheme = "https" if self.ssl_context else "http"
        host = self.host or "0.0.0.0"
        return f"{scheme}://{host}:{self.port}/"

    async def start(self) -> None:
        """Bind and listen (OSError when the port is taken or forbidden)."""
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host or None, self.port, ssl_context=self.ssl_context)
        await site.start()

    async def stop(self) -> None:
        """Close the listening socket and the connections."""
        await self._runner.cleanup()
