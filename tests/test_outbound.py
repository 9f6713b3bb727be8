"""Which URLs the services may reach on a user's word (workers/outbound.py)."""

from __future__ import annotations

import re

import pytest
import requests
from caldav.lib.http_sync import requests as caldav_http

from tests.providers import LOCAL_SERVERS, rebinding_name, redirect_into_the_network
from workers.outbound import (
    PrivateDestination,
    refuse_private_connections,
    refuse_private_destination,
    refuse_private_redirects,
)

NONE_ALLOWED: frozenset[str] = frozenset()


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
        "https://10.0.0.5/caldav/",
        "https://192.168.1.20:8443/",
        "http://127.0.0.1:5432/",
        "http://localhost:8080/",  # a name, resolved here to the loopback address
        "https://[::1]/",
        "https://[::ffff:127.0.0.1]/",  # IPv4 written as IPv6
        "https://100.64.0.1/",  # carrier-grade NAT, shared space
        "https://0.0.0.0/",
        "https://224.0.0.1/",
    ],
)
def test_addresses_inside_a_network_are_refused(url: str) -> None:
    with pytest.raises(PrivateDestination, match="an address inside this service's own network"):
        refuse_private_destination(url, NONE_ALLOWED)


@pytest.mark.parametrize(
    "url", ["ftp://caldav.example/", "file:///etc/passwd", "caldav.icloud.com", "https:///x"]
)
def test_anything_but_an_http_url_is_refused(url: str) -> None:
    with pytest.raises(PrivateDestination, match="is not an http or https URL"):
        refuse_private_destination(url, NONE_ALLOWED)


def test_public_addresses_and_allowed_hosts_pass() -> None:
    refuse_private_destination("https://17.253.144.10/", NONE_ALLOWED)  # a public address
    refuse_private_destination("https://[2a00:1450:4009:81f::200a]/", NONE_ALLOWED)
    refuse_private_destination("http://127.0.0.1:5232/", frozenset({"127.0.0.1"}))
    with pytest.raises(PrivateDestination):
        refuse_private_destination("http://127.0.0.2:5232/", frozenset({"127.0.0.1"}))


@pytest.mark.parametrize("new_session", [requests.Session, caldav_http.Session], ids=["push", "caldav"])
def test_a_redirect_into_the_network_is_refused_before_it_is_followed(new_session) -> None:
    """Push goes through requests, CalDAV through the library caldav chose (niquests where it is
    installed): both take the check on redirects."""
    outside, inside = redirect_into_the_network()
    with outside, inside:
        session = new_session()
        refuse_private_redirects(session, LOCAL_SERVERS)
        with pytest.raises(
            PrivateDestination, match=re.escape("127.0.0.2 is at 127.0.0.2, an address inside")
        ):
            session.get(f"{outside.base_url}/calendars/", timeout=10)
        allowed = new_session()
        refuse_private_redirects(allowed, LOCAL_SERVERS | {"127.0.0.2"})
        followed = allowed.get(f"{outside.base_url}/calendars/", timeout=10)
    assert followed.status_code == 200
    assert inside.state == ["/latest/meta-data/"]  # only the allowed session's request


@pytest.mark.parametrize("new_session", [requests.Session, caldav_http.Session], ids=["push", "caldav"])
def test_a_name_that_leads_inside_once_checked_is_not_connected_to(new_session, monkeypatch) -> None:
    """DNS rebinding: the name passes the check with a public address, then answers one inside.
    The address each new connection reached is checked before a byte is sent on it."""
    _, inside = redirect_into_the_network()
    with inside:
        name = rebinding_name(monkeypatch, "127.0.0.2")
        url = f"http://{name}:{inside.server.server_address[1]}/latest/meta-data/"
        refuse_private_destination(url, NONE_ALLOWED)  # the first answer is public
        unchecked = new_session()
        assert unchecked.get(url, timeout=10).status_code == 200  # the next one leads inside
        session = new_session()
        refuse_private_connections(session, LOCAL_SERVERS)
        with pytest.raises(PrivateDestination, match=re.escape(f"{name} is at 127.0.0.2, an address inside")):
            session.get(url, timeout=10)
        with pytest.raises(PrivateDestination, match=re.escape("127.0.0.2 is at 127.0.0.2, an address")):
            session.get(f"{inside.base_url}/", timeout=10)
    assert inside.state == ["/latest/meta-data/"]  # the unchecked session's request alone


@pytest.mark.parametrize("new_session", [requests.Session, caldav_http.Session], ids=["push", "caldav"])
def test_connections_to_allowed_hosts_are_made(new_session) -> None:
    """The check lets through what the deployment allows (its local servers here) by the URL's host."""
    outside, inside = redirect_into_the_network()
    with outside, inside:
        session = new_session()
        refuse_private_connections(session, LOCAL_SERVERS | {"127.0.0.2"})
        assert session.get(f"{inside.base_url}/direct", timeout=10).status_code == 200
        assert session.get(f"{outside.base_url}/redirected", timeout=10).status_code == 200
    assert inside.state == ["/direct", "/latest/meta-data/"]
