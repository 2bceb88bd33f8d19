"""pvopt web's pure security (pvopt/web/auth.py) and pages, on a fake clock."""

from __future__ import annotations

import re
from datetime import UTC
from importlib import resources
from pathlib import Path

import pytest

from pvopt.config import ConfigError, load_settings
from pvopt.web import auth, i18n, pages

#: A cheap cost for the tests (the default costs 16 MiB and ~0.1 s here, ~0.4 s on a Pi).
FAST = auth.ScryptParams(log2_n=4, r=8, p=1)


# -- password hashes -----------------------------------------------------------------------


def test_a_hash_carries_its_parameters_and_salt_and_verifies_only_its_password() -> None:
    stored = auth.hash_password("k7dqm-x2fpa", params=FAST)
    assert re.fullmatch(r"\$scrypt\$ln=4,r=8,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}", stored)
    parsed = auth.parse_hash(stored)
    assert auth.verify_password("k7dqm-x2fpa", parsed)
    assert not auth.verify_password("k7dqm-x2fpb", parsed)
    assert not auth.verify_password("", parsed)
    assert not auth.verify_password("x" * (auth.MAX_PASSWORD_CHARS + 1), parsed)


def test_the_default_cost_is_memory_hard_and_fits_a_pi() -> None:
    params = auth.DEFAULT_PARAMS
    assert params.memory_bytes == 16 * 1024 * 1024
    assert auth.hash_password("pw").startswith("$scrypt$ln=14,r=8,p=1$")


def test_each_hash_has_its_own_salt_and_a_given_salt_gives_the_same_hash() -> None:
    assert auth.hash_password("same", params=FAST) != auth.hash_password("same", params=FAST)
    salt = bytes(range(16))
    assert auth.hash_password("same", salt, FAST) == auth.hash_password("same", salt, FAST)


def test_hashes_of_another_cost_still_verify_so_the_cost_can_be_raised() -> None:
    old = auth.parse_hash(auth.hash_password("pw", params=auth.ScryptParams(3, 4, 2)))
    assert old.params == auth.ScryptParams(3, 4, 2)
    assert auth.verify_password("pw", old)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "plain text password",
        "$2b$12$abcdefghijklmnopqrstuv",  # bcrypt: not ours
        "$scrypt$ln=14,r=8,p=1$!!!$AAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=30,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=20,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=14,r=0,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "$scrypt$ln=14,r=8,p=1$AAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_a_stored_hash_that_is_not_ours_or_too_costly_is_refused(text: str) -> None:
    with pytest.raises(auth.PasswordHashError) as info:
        auth.parse_hash(text)
    if len(text) > 10:
        assert text not in str(info.value)


def test_generated_passwords_are_strong_typeable_and_distinct() -> None:
    made = {auth.generate_password() for _ in range(200)}
    assert len(made) == 200
    for password in made:
        assert re.fullmatch(r"[a-km-np-z2-9]{5}(-[a-km-np-z2-9]{5}){3}", password), password
    assert auth.password_bits() > 95


# -- sessions and CSRF ---------------------------------------------------------------------


def test_a_session_is_found_by_its_token_only_until_it_ends() -> None:
    store = auth.SessionStore(idle_timeout_s=100.0, max_age_s=1000.0)
    session = store.create("192.0.2.7", now=0.0, wall=1_700_000_000.0)
    assert session.token != session.csrf and len(session.token) >= 43
    assert store.get(session.token, 50.0) is not None
    assert store.get(session.token, 149.0) is not None  # used at 50: idle until 150
    assert store.get(session.token + "x", 149.0) is None
    assert store.get(None, 149.0) is None and store.get("", 149.0) is None
    assert store.get(session.token, 249.1) is None  # idle 100.1 s
    assert store.get(session.token, 150.0) is None  # gone for good
    assert len(store) == 0


def test_a_session_used_every_day_still_ends_at_its_maximum_age() -> None:
    store = auth.SessionStore(idle_timeout_s=100.0, max_age_s=1000.0)
    session = store.create("c", 0.0, 0.0)
    for now in range(50, 1000, 50):
        assert store.get(session.token, float(now)) is not None
    assert store.get(session.token, 1000.0) is None


def test_logout_ends_one_session_and_a_new_password_ends_them_all() -> None:
    store = auth.SessionStore()
    first, second = store.create("a", 0.0, 0.0), store.create("b", 0.0, 0.0)
    assert store.revoke(first.token) and not store.revoke(first.token)
    assert store.get(first.token, 1.0) is None
    assert store.get(second.token, 1.0) is not None
    assert store.revoke_all() == 1
    assert store.get(second.token, 1.0) is None


def test_the_store_is_bounded_and_forgets_the_session_unused_longest() -> None:
    store = auth.SessionStore(max_sessions=3)
    sessions = [store.create("c", float(i), 0.0) for i in range(3)]
    store.get(sessions[0].token, 10.0)  # used again: sessions[1] is now the oldest
    newest = store.create("c", 11.0, 0.0)
    assert len(store) == 3
    assert store.get(sessions[1].token, 12.0) is None
    assert all(store.get(s.token, 12.0) for s in (sessions[0], sessions[2], newest))


def test_the_csrf_token_must_be_the_sessions_own() -> None:
    store = auth.SessionStore()
    session, other = store.create("c", 0.0, 0.0), store.create("c", 0.0, 0.0)
    assert auth.csrf_ok(session, session.csrf)
    for forged in (None, "", other.csrf, session.token, session.csrf[:-1], session.csrf + "A"):
        assert not auth.csrf_ok(session, forged), forged
    assert not auth.csrf_ok(session, "é" * 43)  # not ASCII: refused, no exception
    assert auth.tokens_equal("abc", "abc")
    assert not auth.tokens_equal("abc", "abd") and not auth.tokens_equal(None, None)


# -- the login throttle --------------------------------------------------------------------


def test_the_tenth_wrong_password_in_a_minute_from_one_address_is_refused() -> None:
    throttle = auth.LoginThrottle()
    for i in range(9):
        assert throttle.check("192.0.2.7", float(i)) is None
        throttle.failed("192.0.2.7", float(i))
    refusal = throttle.check("192.0.2.7", 20.0)
    assert refusal == auth.Refusal(retry_after_s=40, scope="client")  # the first leaves at 60
    assert throttle.check("192.0.2.8", 20.0) is None  # another address is not concerned
    assert throttle.check("192.0.2.7", 59.9) is not None
    assert throttle.check("192.0.2.7", 60.0) is None  # the first wrong one left the window


def test_refused_attempts_do_not_prolong_the_wait() -> None:
    throttle = auth.LoginThrottle()
    for i in range(9):
        throttle.failed("c", 0.0 + i * 0.1)
    for t in range(1, 60):
        assert throttle.check("c", float(t)) is not None
    assert throttle.check("c", 61.0) is None


def test_thirty_wrong_passwords_in_a_minute_from_all_addresses_refuse_everyone() -> None:
    throttle = auth.LoginThrottle()
    for i in range(30):
        client = f"192.0.2.{i}"  # one each: no address reaches its own limit
        assert throttle.check(client, i * 0.5) is None
        throttle.failed(client, i * 0.5)
    refusal = throttle.check("198.51.100.1", 20.0)
    assert refusal is not None and refusal.scope == "global" and refusal.retry_after_s == 40
    assert throttle.check("198.51.100.1", 60.0) is None  # the first one left the window


def test_a_right_password_clears_its_address_but_not_the_global_count() -> None:
    throttle = auth.LoginThrottle(per_client=3, global_limit=5)
    for _ in range(2):
        throttle.failed("a", 0.0)
    throttle.succeeded("a")
    for _ in range(2):
        throttle.failed("a", 1.0)
    assert throttle.check("a", 1.0) is None  # 2 since the success
    throttle.failed("b", 1.0)
    assert throttle.check("c", 1.0) == auth.Refusal(59, "global")  # 5 wrong in all


def test_the_throttle_remembers_a_bounded_number_of_addresses() -> None:
    throttle = auth.LoginThrottle(max_clients=10, global_limit=10**6)
    for i in range(1000):
        throttle.failed(f"10.0.{i // 256}.{i % 256}", 0.0)
    assert len(throttle._clients) == 10


# -- languages and pages -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("fr-FR,fr;q=0.9,en-US;q=0.8,en;q=0.7", "fr"),
        ("en-GB,en;q=0.9,fr;q=0.8", "en"),
        ("de-DE,de;q=0.9,en;q=0.5,fr;q=0.4", "en"),
        ("fr;q=0.2, en;q=0.8", "en"),
        ("en;q=0, fr", "fr"),
        ("de, es", None),
        ("", None),
        (None, None),
        ("en;q=abc, fr;q=nan", None),
        ("en," * 500, None),  # too long: not parsed
    ],
)
def test_accept_language_picks_the_preferred_of_french_and_english(
    header: str | None, expected: str | None
) -> None:
    assert i18n.from_accept_language(header) == expected


def test_the_switch_beats_the_cookie_which_beats_the_browser_and_french_is_the_default() -> None:
    assert i18n.choose("en", "fr", "fr") == "en"
    assert i18n.choose(None, "en", "fr") == "en"
    assert i18n.choose("xx", "yy", "en-US") == "en"
    assert i18n.choose(None, None, None) == "fr"


def _shell() -> str:
    return resources.files("pvopt.web").joinpath("shell.html").read_text("utf-8")


def test_pages_escape_what_they_show_and_carry_no_inline_script_or_style() -> None:
    info = pages.ShellInfo(
        lang="en",
        csrf='"><script>alert(1)</script>',
        client="<img src=x onerror=alert(1)>",
        since=1_700_000_000.0,
        until=1_700_600_000.0,
        sessions=2,
    )
    shell = pages.shell_page(_shell(), info, UTC)
    login = pages.login_page("fr", "tok<en>", error="<b>bad</b>")
    for page in (shell, login):
        assert "{{" not in page and "}}" not in page
        assert "<script>" not in page and "<img" not in page and "<b>" not in page
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), "inline script"
        assert not re.search(r"<[^>]*\s(on\w+|style)=|<style", page), "inline handler or style"
    assert 'name="csrf" value="&quot;&gt;&lt;script&gt;' in shell
    assert "Signed in since 2023-11-14 22:13, from &lt;img" in shell
    assert 'action="/logout"' in shell and 'href="/?lang=fr"' in shell
    assert '<html lang="fr">' in login and "Mot de passe" in login
    assert 'value="tok&lt;en&gt;"' in login and 'href="/login?lang=en"' in login


def test_a_placeholder_without_a_value_is_an_error_not_a_page() -> None:
    with pytest.raises(KeyError):
        pages.render("<p>{{missing}}</p>", {})


# -- settings ------------------------------------------------------------------------------


def test_web_settings_default_to_the_lan_port_8080_and_a_hash_beside_the_config() -> None:
    web = load_settings({"PVOPT_CONFIG": "/etc/pvopt/equipment_config.yml"}).web
    assert (web.host, web.port, web.cert, web.key, web.secure_cookies) == (
        "",
        8080,
        None,
        None,
        False,
    )
    assert web.password_file == Path("/etc/pvopt/web-password")
    web = load_settings(
        {
            "PVOPT_WEB_HOST": "127.0.0.1",
            "PVOPT_WEB_PORT": "8443",
            "PVOPT_WEB_PASSWORD_FILE": "/srv/pw",
            "PVOPT_WEB_CERT": "/c.pem",
            "PVOPT_WEB_KEY": "/k.pem",
        }
    ).web
    assert (web.host, web.port, web.password_file) == ("127.0.0.1", 8443, Path("/srv/pw"))
    assert web.cert == Path("/c.pem") and web.key == Path("/k.pem") and web.secure_cookies
    assert load_settings({"PVOPT_WEB_SECURE_COOKIES": "on"}).web.secure_cookies


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"PVOPT_WEB_PORT": "80800"}, "PVOPT_WEB_PORT"),
        ({"PVOPT_WEB_CERT": "/c.pem"}, "PVOPT_WEB_CERT and PVOPT_WEB_KEY"),
        ({"PVOPT_WEB_SECURE_COOKIES": "maybe"}, "PVOPT_WEB_SECURE_COOKIES"),
    ],
)
def test_bad_web_settings_name_their_variable(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError, match=names):
        load_settings(env)
