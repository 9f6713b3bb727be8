"""Which URLs the services may reach on a user's word (workers/outbound.py)."""

from __future__ import annotations

import pytest

from workers.outbound import PrivateDestination, refuse_private_destination

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
