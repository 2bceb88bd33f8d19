"""Which address a request comes from behind a reverse proxy (pvopt.web.proxies): the
peer, unless it is a trusted proxy; then the right-most address of X-Forwarded-For that
is not one. What the client writes in the header is never believed."""

from __future__ import annotations

import pytest

from pvopt.config import ConfigError, load_settings
from pvopt.web.proxies import client_address, parse_trusted

PROXY = parse_trusted("127.0.0.1")
TWO_PROXIES = parse_trusted("127.0.0.1, 10.0.0.0/8")


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_address("192.168.1.20", ["203.0.113.9"], ()) == "192.168.1.20"


def test_from_a_peer_that_is_not_a_trusted_proxy_the_header_is_ignored() -> None:
    # a LAN client writing the header itself cannot pose as another address
    assert client_address("192.168.1.20", ["203.0.113.9"], PROXY) == "192.168.1.20"


def test_behind_a_trusted_proxy_the_client_is_the_address_it_appended() -> None:
    assert client_address("127.0.0.1", ["198.51.100.7"], PROXY) == "198.51.100.7"


def test_what_the_client_wrote_left_of_it_is_never_used() -> None:
    forged = ["1.2.3.4, 127.0.0.1, 198.51.100.7"]  # the client wrote the first two
    assert client_address("127.0.0.1", forged, PROXY) == "198.51.100.7"


def test_a_chain_of_trusted_proxies_is_walked_from_the_right() -> None:
    chain = ["6.6.6.6, 198.51.100.7", "10.1.2.3"]  # two header lines, in order
    assert client_address("127.0.0.1", chain, TWO_PROXIES) == "198.51.100.7"


def test_without_the_header_a_trusted_proxy_is_the_client() -> None:
    assert client_address("127.0.0.1", [], PROXY) == "127.0.0.1"


def test_a_hop_that_is_not_an_address_stops_the_walk_at_the_last_trusted_one() -> None:
    assert client_address("127.0.0.1", ["198.51.100.7, not-an-ip"], PROXY) == "127.0.0.1"
    assert client_address("127.0.0.1", ["1.2.3.4, 10.0.0.5, junk, 10.0.0.9"], TWO_PROXIES) == (
        "10.0.0.9"
    )


def test_ipv6_and_bracketed_addresses_are_read() -> None:
    v6 = parse_trusted("::1")
    assert client_address("::1", ["[2001:db8::7]"], v6) == "2001:db8::7"
    assert client_address("::ffff:127.0.0.1", ["2001:db8::8"], PROXY) == "2001:db8::8"


def test_an_endless_header_is_read_from_its_right_end_only() -> None:
    flood = ",".join(["10.0.0.1"] * 5000) + ", 198.51.100.7"
    assert client_address("127.0.0.1", [flood], TWO_PROXIES) == "198.51.100.7"


def test_an_unknown_peer_is_unknown() -> None:
    assert client_address(None, ["198.51.100.7"], PROXY) == "unknown"


def test_the_setting_is_a_comma_list_checked_at_start() -> None:
    settings = load_settings({"PVOPT_WEB_TRUSTED_PROXIES": "127.0.0.1, ::1, 10.0.0.0/8"})
    assert [str(n) for n in settings.web.trusted_proxies] == [
        "127.0.0.1/32",
        "::1/128",
        "10.0.0.0/8",
    ]
    assert load_settings({}).web.trusted_proxies == ()
    with pytest.raises(ConfigError, match=r"PVOPT_WEB_TRUSTED_PROXIES: 'proxy\.lan'"):
        load_settings({"PVOPT_WEB_TRUSTED_PROXIES": "127.0.0.1, proxy.lan"})
