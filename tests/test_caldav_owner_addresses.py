"""Whose "no" to an invitation frees CalDAV time: the addresses the server lists for the account.

Radicale lists only its principal's URL there (the sync tests use its username, an address);
Apple's calendar server lists the account's addresses, one marked preferred, beside `urn:uuid:`
and principal URLs. This local server answers PROPFIND as that one does.
"""

from __future__ import annotations

from tests.calendar_helpers import sync_settings
from tests.providers import JsonHandler, LocalServer
from workers.calendars.caldav_client import CalDAVCalendar

PRINCIPAL = "/1234567/principal/"
APPLE_STYLE_ADDRESSES = f"""
<C:calendar-user-address-set xmlns:C="urn:ietf:params:xml:ns:caldav">
  <D:href preferred="1">MAILTO:Pat.Doe@Example.com</D:href>
  <D:href>mailto:pat@icloud.example</D:href>
  <D:href>urn:uuid:9f8e7d6c-0000-4000-8000-000000000000</D:href>
  <D:href>{PRINCIPAL}</D:href>
</C:calendar-user-address-set>"""


class PrincipalHandler(JsonHandler):
    """Every PROPFIND gets the account's principal, and its address set when the state holds one."""

    def do_PROPFIND(self) -> None:
        self.raw_body()
        body = f"""<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:">
  <D:response>
    <D:href>{self.path}</D:href>
    <D:propstat>
      <D:prop>
        <D:current-user-principal><D:href>{PRINCIPAL}</D:href></D:current-user-principal>
        {self.state["addresses"]}
      </D:prop>
      <D:status>HTTP/1.1 200 OK</D:status>
    </D:propstat>
  </D:response>
</D:multistatus>""".encode()
        self.state["propfinds"] += 1
        self.send_response(207)
        self.send_header("Content-Type", "application/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def owner_addresses(addresses: str, username: str) -> tuple[frozenset[str], int]:
    state = {"addresses": addresses, "propfinds": 0}
    with LocalServer(PrincipalHandler, state) as server:
        calendar = CalDAVCalendar(
            f"{server.base_url}/", username, "app-password", f"{server.base_url}/cal/", sync_settings()
        )
        found = calendar.owner_addresses()
        assert calendar.owner_addresses() == found
        calendar.close()
    return found, state["propfinds"]


def test_the_accounts_addresses_in_lower_case_and_the_username_when_it_is_one() -> None:
    found, propfinds = owner_addresses(APPLE_STYLE_ADDRESSES, "Apple.ID@icloud.example")
    assert found == {"pat.doe@example.com", "pat@icloud.example", "apple.id@icloud.example"}
    assert propfinds == 2  # the principal, then its addresses; asked again, nothing is read


def test_a_server_that_lists_no_addresses_leaves_the_username() -> None:
    assert owner_addresses("", "pat@example.com")[0] == {"pat@example.com"}
    assert owner_addresses("", "pat")[0] == frozenset()
