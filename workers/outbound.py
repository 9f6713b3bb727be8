"""Addresses the services reach on a user's word: the public internet, not the deployment's own.

A CalDAV server URL and a Web Push endpoint come from users. Unchecked, a signed-in user could
have the web service or the worker send requests into the network they run in (a cloud metadata
service at 169.254.169.254, a database port, an internal admin API) and read what came back in a
connect error or a sync log. A URL is refused when its host resolves to any address that is not
global (loopback, private, link-local, shared, reserved, unspecified) or is multicast, unless the
deployment names the host in SCHEDULING_PRIVATE_HOSTS (an on-premises CalDAV server; the local
servers of the tests and the demo).

The URL is checked before it is first used (refuse_private_destination: the user is told at
once), on every redirect a server answers with before it is followed (refuse_private_redirects),
and the address every new connection of the HTTP session reached is checked before anything is
sent on it (refuse_private_connections). The last is what holds when a name's DNS answer
changes after the first check (DNS rebinding, or a CalDAV host moved inside months after it was
connected): the address checked is the one connected to. Through a proxy the session connects
to the proxy, which resolves the name; an egress firewall remains the complete answer.
"""

from __future__ import annotations

import functools
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
        refuse_private_address(host, sockaddr[0])


def refuse_private_address(host: str, address_text: str) -> None:
    """Raises PrivateDestination when `host`'s address `address_text` is not a public one."""
    address = ipaddress.ip_address(address_text.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if not address.is_global or address.is_multicast:
        raise PrivateDestination(
            f"{host} is at {address}, an address inside this service's own network,"
            " which it does not connect to on a user's behalf"
        )


def keep_out_of_the_network(session, private_hosts_allowed: frozenset[str]) -> None:
    """Both checks an HTTP session (requests or niquests) that reaches users' URLs needs: on each
    redirect before it is followed, and on each new connection before anything is sent."""
    refuse_private_redirects(session, private_hosts_allowed)
    refuse_private_connections(session, private_hosts_allowed)


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


def refuse_private_connections(session, private_hosts_allowed: frozenset[str]) -> None:
    """Have an HTTP session (requests or niquests) check the address each new connection of its
    own pools reached, before a byte is sent on it, and close it when that address is inside
    this network (unless the URL's host is allowed)."""
    for adapter in session.adapters.values():
        manager = adapter.poolmanager
        manager.pool_classes_by_scheme = {
            scheme: checked_pool(pool, private_hosts_allowed)
            for scheme, pool in manager.pool_classes_by_scheme.items()
        }


@functools.cache  # one class per pool class and setting, not two new classes per session
def checked_pool(pool_class: type, private_hosts_allowed: frozenset[str]) -> type:
    """A subclass of urllib3's connection pool `pool_class` whose connections check their peer."""

    class CheckedConnection(pool_class.ConnectionCls):
        # _new_conn is where urllib3 (and urllib3-future, under niquests) opens the socket, before
        # any TLS handshake or request: a private method, so tests/test_outbound.py checks it holds.
        def _new_conn(self):
            sock = super()._new_conn()
            if self.host not in private_hosts_allowed:
                try:
                    refuse_private_address(self.host, sock.getpeername()[0])
                except PrivateDestination:
                    sock.close()
                    raise
            return sock

    return type(pool_class.__name__, (pool_class,), {"ConnectionCls": CheckedConnection})
