"""Addresses the services reach on a user's word: the public internet, not the deployment's own.

A CalDAV server URL and a Web Push endpoint come from users. Unchecked, a signed-in user could
have the web service or the worker send requests into the network they run in (a cloud metadata
service at 169.254.169.254, a database port, an internal admin API) and read what came back in a
connect error or a sync log. A URL is refused when its host resolves to any address that is not
global (loopback, private, link-local, shared, reserved, unspecified) or is multicast, unless the
deployment names the host in SCHEDULING_PRIVATE_HOSTS (an on-premises CalDAV server; the local
servers of the tests and the demo).

The check runs before each connection is made, and on every redirect a server answers with
before it is followed (refuse_private_redirects). A name that resolves elsewhere by the time the
library connects is beyond it: an egress firewall is the complete answer, and this check what
the code itself can hold to.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urljoin, urlsplit


class PrivateDestination(ValueError):
    """The URL leads into the deployment's own network, or is no http(s) URL at all."""


def refuse_private_destination(url: str, private_hosts_allowed: frozenset[str]) -> None:
    """Raises PrivateDestination unless `url` is http(s) to a host with only public addresses.

    A host that does not resolve passes: connecting to it fails by itself, with its own error.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PrivateDestination(f"{url} is not an http or https URL")
    host = parts.hostname
    if host in private_hosts_allowed:
        return
    try:
        answers = socket.getaddrinfo(host, parts.port or 443, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        return
    for *_, sockaddr in answers:
        address = ipaddress.ip_address(sockaddr[0].split("%", 1)[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if not address.is_global or address.is_multicast:
            raise PrivateDestination(
                f"{host} is at {address}, an address inside this service's own network,"
                " which it does not connect to on a user's behalf"
            )


def refuse_private_redirects(session, private_hosts_allowed: frozenset[str]) -> None:
    """Have an HTTP session (requests or niquests) check each redirect it is answered with, before
    following it, as the first URL was checked: a server that passed could otherwise send the
    client on to 169.254.169.254."""

    def check(response, **_kwargs):
        if response.is_redirect:
            target = urljoin(response.url, response.headers["Location"])
            refuse_private_destination(target, private_hosts_allowed)
        return response

    session.hooks["response"].append(check)
