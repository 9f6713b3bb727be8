"""What a CalDAV complete listing costs against a calendar with years of events.

A local Radicale holds a calendar of `--events` one-hour events spread evenly over four years,
three behind and one ahead, one of them weekly for ever. Measured, each `--repeat` times in
turn: the pull's complete listing (`CalDAVCalendar.changes` from no token, over a window of a day
back to 91 days ahead) and, as the reference, the caldav library's listing from no token (a
sync-collection report, then one GET per object), which the pull made before. Printed: the
median time, the HTTP requests made and the events returned. Radicale runs on this machine, so
a request costs no network round trip here; against iCloud each of the reference's GETs does.

    .venv/bin/python -m bench.caldav_listing [--events 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import caldav
from icalendar import Calendar, Event

from workers.calendars.caldav_client import CalDAVCalendar
from workers.local_caldav import Radicale
from workers.settings import Settings

USERNAME, PASSWORD = "dr.bench@icloud.example", "app-specific-password"


def fill(calendar: caldav.Calendar, events: int, now: datetime) -> None:
    first = now - timedelta(days=3 * 365)
    for n in range(events):
        ical = Calendar()
        ical.add("prodid", "-//bench//EN")
        ical.add("version", "2.0")
        event = Event()
        event.add("uid", f"{uuid.uuid4()}@bench.example")
        event.add("dtstamp", now)
        start = first + timedelta(days=4 * 365 * n / events)
        event.add("dtstart", start)
        event.add("dtend", start + timedelta(hours=1))
        event.add("summary", f"Event {n}")
        if n == 0:
            event.add("rrule", {"freq": "weekly"})
        ical.add_component(event)
        calendar.add_event(ical.to_ical().decode())


def counting(session) -> list[int]:
    """The requests the session sends from now on, one element each (a requests response hook;
    the caldav library's client holds a requests session)."""
    sent: list[int] = []
    session.hooks["response"].append(lambda response, *args, **kwargs: sent.append(1))
    return sent


def measured(sent: list[int], listing: Callable[[], int], repeat: int) -> tuple[float, int, int]:
    """Median seconds, requests per listing and events listed."""
    timings, listed = [], 0
    for _ in range(repeat):
        sent.clear()
        started = time.perf_counter()
        listed = listing()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings), len(sent), listed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    now = datetime.now(UTC).replace(microsecond=0)
    window = (now - timedelta(days=1), now + timedelta(days=91))
    settings = Settings(
        worker_name="bench",
        app_base_url="https://clinic.example",
        smtp=None,
        private_hosts_allowed=frozenset({"127.0.0.1"}),  # the local Radicale, as a deployment allows its own
    )
    server = Radicale(Path(tempfile.mkdtemp(prefix="bench-radicale-")))
    try:
        server.add_user(USERNAME, PASSWORD)
        account = caldav.DAVClient(url=server.url, username=USERNAME, password=PASSWORD)
        work = account.principal().make_calendar(name="Work", cal_id="work")
        fill(work, args.events, now)
        library = caldav.DAVClient(url=server.url, username=USERNAME, password=PASSWORD)
        library_sent = counting(library.session)
        pull = CalDAVCalendar(server.url, USERNAME, PASSWORD, str(work.url), settings)
        pull_sent = counting(pull._client.session)
        cases = {}
        for _ in range(2):  # the second round printed: Radicale reads the objects into its cache first
            cases = {
                "library's listing, a GET per object (reference)": measured(
                    library_sent,
                    lambda: len(
                        library.calendar(url=work.url)
                        .get_objects_by_sync_token(None, load_objects=True)
                        .objects
                    ),
                    args.repeat,
                ),
                "the pull's listing (time-range calendar-query)": measured(
                    pull_sent, lambda: len(pull.changes(None, window).changed), args.repeat
                ),
            }
    finally:
        server.stop()
    print(f"{args.events} events over four years; window {window[0]:%Y-%m-%d} to {window[1]:%Y-%m-%d}")
    reference = next(iter(cases.values()))[0]
    for name, (seconds, requests, listed) in cases.items():
        print(
            f"{name:50} median {seconds * 1000:8.1f} ms {seconds / reference:6.2f}x"
            f"   {requests:5} requests   {listed:5} events"
        )


if __name__ == "__main__":
    main()
