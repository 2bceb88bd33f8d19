"""The page's security, pure: password hashes, sessions, CSRF tokens, the login throttle.

Time is an argument everywhere (seconds of a monotonic clock, ``now``); randomness comes
from :mod:`secrets`. The server (:mod:`pvopt.io.web_server`) holds one
:class:`SessionStore` and one :class:`LoginThrottle` and calls them from its event loop.

Password hashes are scrypt (memory-hard, in :mod:`hashlib`), stored as one line that
carries its parameters beside the salt, in the format of passlib's ``scrypt`` hash, so
the cost can be raised later without breaking the hashes already stored::

    $scrypt$ln=14,r=8,p=1$<salt, base64>$<key, base64>

``ln=14, r=8, p=1`` (N = 16384): 16 MiB (measured: +16.1 MiB of peak RSS) and
0.055–0.1 s per check on the development VM (AMD EPYC, 2 shared cores); a Raspberry Pi 4
is several times slower per core, an estimated 0.3–0.5 s (not measured on a Pi yet).
``ln=15`` would double both (32 MiB): raise it here when Pis are faster; old hashes keep
verifying with the cost they carry.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import math
import re
import secrets
from collections import deque
from dataclasses import dataclass, replace

# -- password hashes -----------------------------------------------------------------------

#: The scrypt cost of new hashes: N = 2**14, r = 8, p = 1 → 128·r·N = 16 MiB.
LOG2_N = 14
BLOCK_SIZE = 8
PARALLELISM = 1
SALT_BYTES = 16
KEY_BYTES = 32
#: A stored hash asking for more memory than this is refused (a corrupt or hostile file
#: must not exhaust a Pi's RAM): 128 MiB.
MAX_MEMORY = 128 * 1024 * 1024
#: The alphabet of generated passwords: lower-case letters and digits without the ones
#: that look alike on a phone (0/o, 1/l/i).
PASSWORD_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
#: Generated passwords: 4 groups of 5 (about 99 bits), e.g. ``k7dqm-x2fpa-9hnrt-c3wbe``.
PASSWORD_GROUPS = 4
PASSWORD_GROUP_LEN = 5
#: Passwords longer than this are refused before hashing (no multi-megabyte KDF input).
MAX_PASSWORD_CHARS = 1024

_HASH = re.compile(
    r"\$scrypt\$ln=(?P<ln>\d{1,2}),r=(?P<r>\d{1,3}),p=(?P<p>\d{1,3})"
    r"\$(?P<salt>[A-Za-z0-9+/]+={0,2})\$(?P<key>[A-Za-z0-9+/]+={0,2})"
)


class PasswordHashError(ValueError):
    """A stored password hash that cannot be read (its text is never in the message)."""


@dataclass(frozen=True)
class ScryptParams:
    """scrypt's cost: N = 2**log2_n, block size r, parallelism p."""

    log2_n: int = LOG2_N
    r: int = BLOCK_SIZE
    p: int = PARALLELISM

    @property
    def memory_bytes(self) -> int:
        """What one derivation allocates: 128·r·N (times p when run in parallel)."""
        return 128 * self.r * (1 << self.log2_n) * self.p


DEFAULT_PARAMS = ScryptParams()


@dataclass(frozen=True)
class PasswordHash:
    """A parsed stored hash."""

    params: ScryptParams
    salt: bytes
    key: bytes

    def encode(self) -> str:
        """The one-line text stored in the password file."""
        p = self.params
        return f"$scrypt$ln={p.log2_n},r={p.r},p={p.p}${_b64(self.salt)}${_b64(self.key)}"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    text = text.rstrip("=")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def _derive(password: str, salt: bytes, params: ScryptParams, length: int) -> bytes:
    return hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=1 << params.log2_n,
        r=params.r,
        p=params.p,
        maxmem=params.memory_bytes + 1024 * 1024,
        dklen=length,
    )


def hash_password(
    password: str, salt: bytes | None = None, params: ScryptParams = DEFAULT_PARAMS
) -> str:
    """The stored form of ``password`` (a fresh random salt unless one is given)."""
    if not password or len(password) > MAX_PASSWORD_CHARS:
        raise ValueError(f"a password has 1 to {MAX_PASSWORD_CHARS} characters")
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    return PasswordHash(params, salt, _derive(password, salt, params, KEY_BYTES)).encode()


def parse_hash(stored: str) -> PasswordHash:
    """Read a stored hash; :class:`PasswordHashError` if it is not one this code made, or
    asks for an unreasonable cost."""
    match = _HASH.fullmatch(stored.strip())
    if match is None:
        raise PasswordHashError("not a pvopt password hash ($scrypt$ln=…,r=…,p=…$salt$key)")
    params = ScryptParams(int(match["ln"]), int(match["r"]), int(match["p"]))
    if not (1 <= params.log2_n <= 24 and params.r >= 1 and params.p >= 1):
        raise PasswordHashError("scrypt parameters out of range")
    if params.memory_bytes > MAX_MEMORY:
        raise PasswordHashError(
            f"scrypt parameters need {params.memory_bytes >> 20} MiB, more than "
            f"{MAX_MEMORY >> 20} MiB"
        )
    try:
        salt, key = _unb64(match["salt"]), _unb64(match["key"])
    except (binascii.Error, ValueError):
        raise PasswordHashError("the salt or the key is not base64") from None
    if len(salt) < 8 or len(key) < 16:
        raise PasswordHashError("salt or key too short")
    return PasswordHash(params, salt, key)


def verify_password(password: str, stored: PasswordHash) -> bool:
    """True when ``password`` is the one ``stored`` was made from. The comparison takes
    the same time wherever the keys differ (:func:`hmac.compare_digest`)."""
    if not password or len(password) > MAX_PASSWORD_CHARS:
        return False
    candidate = _derive(password, stored.salt, stored.params, len(stored.key))
    return hmac.compare_digest(candidate, stored.key)


def generate_password() -> str:
    """A strong password a person can type on a phone: ``xxxxx-xxxxx-xxxxx-xxxxx``."""
    return "-".join(
        "".join(secrets.choice(PASSWORD_ALPHABET) for _ in range(PASSWORD_GROUP_LEN))
        for _ in range(PASSWORD_GROUPS)
    )


def password_bits() -> float:
    """The entropy of :func:`generate_password`, bits."""
    return PASSWORD_GROUPS * PASSWORD_GROUP_LEN * math.log2(len(PASSWORD_ALPHABET))


# -- sessions and CSRF ---------------------------------------------------------------------

#: A session unused this long ends (s): a week.
IDLE_TIMEOUT_S = 7 * 24 * 3600.0
#: A session ends this long after the login whatever its use (s): 30 days.
MAX_AGE_S = 30 * 24 * 3600.0
#: Open sessions at most; a new login beyond ends the one unused for longest.
MAX_SESSIONS = 32
TOKEN_BYTES = 32


@dataclass(frozen=True)
class Session:
    """One logged-in browser. ``token`` is the cookie's value, ``csrf`` the token every
    state-changing request of this session must carry."""

    token: str
    csrf: str
    client: str
    #: Monotonic seconds: the login, and the last request.
    created: float
    last_seen: float
    #: Wall-clock seconds (Unix time) of the login, for display only.
    created_wall: float

    def expires(
        self, idle_timeout_s: float = IDLE_TIMEOUT_S, max_age_s: float = MAX_AGE_S
    ) -> float:
        """Monotonic second at which the session ends unless used again."""
        return min(self.last_seen + idle_timeout_s, self.created + max_age_s)


def _digest(token: str) -> str:
    # The store is keyed by a hash of the token: the dict lookup reveals nothing of it.
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


class SessionStore:
    """The open sessions, in memory (a restart of ``pvopt web`` logs everyone out)."""

    def __init__(
        self,
        idle_timeout_s: float = IDLE_TIMEOUT_S,
        max_age_s: float = MAX_AGE_S,
        max_sessions: int = MAX_SESSIONS,
    ) -> None:
        self.idle_timeout_s = idle_timeout_s
        self.max_age_s = max_age_s
        self.max_sessions = max_sessions
        self._sessions: dict[str, Session] = {}

    def __len__(self) -> int:
        return len(self._sessions)

    def create(self, client: str, now: float, wall: float) -> Session:
        """A new session for ``client`` (its address), logged in at ``now``."""
        self.prune(now)
        while len(self._sessions) >= self.max_sessions:
            oldest = min(self._sessions, key=lambda k: self._sessions[k].last_seen)
            del self._sessions[oldest]
        session = Session(
            token=secrets.token_urlsafe(TOKEN_BYTES),
            csrf=secrets.token_urlsafe(TOKEN_BYTES),
            client=client,
            created=now,
            last_seen=now,
            created_wall=wall,
        )
        self._sessions[_digest(session.token)] = session
        return session

    def get(self, token: str | None, now: float) -> Session | None:
        """The live session of cookie value ``token`` (its use noted), or None."""
        if not token or len(token) > 256:
            return None
        key = _digest(token)
        session = self._sessions.get(key)
        if session is None:
            return None
        if now >= session.expires(self.idle_timeout_s, self.max_age_s):
            del self._sessions[key]
            return None
        session = replace(session, last_seen=now)
        self._sessions[key] = session
        return session

    def expires(self, session: Session) -> float:
        """Monotonic second at which ``session`` ends unless used again."""
        return session.expires(self.idle_timeout_s, self.max_age_s)

    def revoke(self, token: str) -> bool:
        """End the session of ``token`` (logout); True if it was open."""
        return self._sessions.pop(_digest(token), None) is not None

    def revoke_all(self) -> int:
        """End every session (the password changed); how many were open."""
        count = len(self._sessions)
        self._sessions.clear()
        return count

    def prune(self, now: float) -> None:
        """Forget the sessions that have expired."""
        for key in [
            k
            for k, s in self._sessions.items()
            if now >= s.expires(self.idle_timeout_s, self.max_age_s)
        ]:
            del self._sessions[key]


def csrf_ok(session: Session, supplied: str | None) -> bool:
    """True when ``supplied`` is the session's CSRF token (compared in constant time)."""
    if not supplied:
        return False
    return hmac.compare_digest(supplied.encode("utf-8", "replace"), session.csrf.encode("ascii"))


def new_token() -> str:
    """A random token (the login form's anti-forgery token)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


#: What :func:`new_token` makes: 43 characters of the URL-safe base64 alphabet.
_TOKEN_SHAPE = re.compile(rf"[A-Za-z0-9_-]{{{len(secrets.token_urlsafe(TOKEN_BYTES))}}}")


def is_token(value: str | None) -> bool:
    """True when ``value`` has the shape of a :func:`new_token` (not that it is one)."""
    return value is not None and _TOKEN_SHAPE.fullmatch(value) is not None


def tokens_equal(a: str | None, b: str | None) -> bool:
    """Two tokens equal, compared in constant time; False when either is missing."""
    if not a or not b:
        return False
    return hmac.compare_digest(a.encode("utf-8", "replace"), b.encode("utf-8", "replace"))


# -- the login throttle --------------------------------------------------------------------

#: Wrong passwords are counted over this window (s).
THROTTLE_WINDOW_S = 60.0
#: After this many wrong passwords in the window from one address, its next attempt (the
#: tenth) is refused without looking at the password, until the oldest leaves the window.
PER_CLIENT_FAILURES = 9
#: After this many wrong passwords in the window from all addresses together, every
#: attempt is refused (someone is trying from many addresses).
GLOBAL_FAILURES = 30
#: Addresses remembered at most (the oldest forgotten first).
MAX_CLIENTS = 4096


@dataclass(frozen=True)
class Refusal:
    """A login attempt refused before its password is checked."""

    retry_after_s: int
    #: "client" (this address) or "global" (all addresses together).
    scope: str


class LoginThrottle:
    """Counts wrong passwords per client address and in all; refuses attempts past the
    limits (:data:`PER_CLIENT_FAILURES`, :data:`GLOBAL_FAILURES` in
    :data:`THROTTLE_WINDOW_S`). Refused attempts are not counted: waiting is enough."""

    def __init__(
        self,
        per_client: int = PER_CLIENT_FAILURES,
        global_limit: int = GLOBAL_FAILURES,
        window_s: float = THROTTLE_WINDOW_S,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.per_client = per_client
        self.global_limit = global_limit
        self.window_s = window_s
        self.max_clients = max_clients
        self._clients: dict[str, deque[float]] = {}
        self._all: deque[float] = deque()

    def _expire(self, times: deque[float], now: float) -> None:
        while times and times[0] <= now - self.window_s:
            times.popleft()

    def _retry_after(self, times: deque[float], now: float) -> int:
        return max(1, math.ceil(times[0] + self.window_s - now))

    def check(self, client: str, now: float) -> Refusal | None:
        """None when ``client`` may try a password now, else why not and for how long."""
        self._expire(self._all, now)
        if len(self._all) >= self.global_limit:
            return Refusal(self._retry_after(self._all, now), "global")
        times = self._clients.get(client)
        if times is None:
            return None
        self._expire(times, now)
        if not times:
            del self._clients[client]
            return None
        if len(times) >= self.per_client:
            return Refusal(self._retry_after(times, now), "client")
        return None

    def failed(self, client: str, now: float) -> int:
        """Count a wrong password from ``client``; its wrong passwords in the window."""
        self._all.append(now)
        self._expire(self._all, now)
        while len(self._all) > self.global_limit:
            self._all.popleft()
        times = self._clients.pop(client, None) or deque()
        self._expire(times, now)
        times.append(now)
        while len(times) > self.per_client:
            times.popleft()
        self._clients[client] = times  # re-inserted: the dict is in order of last failure
        while len(self._clients) > self.max_clients:
            del self._clients[next(iter(self._clients))]
        return len(times)

    def succeeded(self, client: str) -> None:
        """A right password: that address's count starts again (not the global one)."""
        self._clients.pop(client, None)
