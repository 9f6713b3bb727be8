"""Property tests of the slot search against random schedules.

For random weekly hours (some applying from or until a date), overrides, appointments (some
of the patient's with another clinician), busy blocks (the clinician's, and the patient's own
calendar's) and a visit length set for the searched type or none, every slot that
get_available_slots returns to a connected patient must lie inside the clinician's hours in
their zone, overlap no active appointment of the clinician's (with buffer) or the patient's, nor
the clinician's busy blocks (with buffer) or the patient's, respect the notice,
and be bookable by book_appointment; and a time it does not return must be refused by it
unless the patient's own calendar is busy then (booking checks one slot with its own query, so
the two must agree both ways; a length other than the one set, both refuse in the same words);
and
get_working_hours gives each date exactly the hours drawn for it, every slot inside one of
them; get_next_available_slots gives the first slots of one long search, and
get_first_available_slots the same across the patient's clinicians; the clinician
searching for the patient (patient_id) is given the same slots. Likewise a
series: get_available_series_slots offers a first visit exactly when book_appointment_series
books every repetition from it, and get_series_move_slots gives a new time exactly when
reschedule_appointment_series moves the whole series there.
"""

from __future__ import annotations

import contextlib
import operator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import psycopg
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

ZONES = ["UTC", "America/New_York", "Europe/London", "Asia/Kolkata", "Australia/Lord_Howe"]
TYPES = ["follow_up", "therapy_session", "assessment"]
LOCATIONS = [None, "in_person", "video"]
SLOT_LENGTHS = [15, 20, 30, 45, 60]


@dataclass(frozen=True)
class Window:
    day_of_week: int  # 0 = Sunday, as in PostgreSQL's extract(dow)
    start: time
    end: time
    slot_minutes: int
    types: tuple[str, ...] | None
    location: str | None
    max_per_day: int | None
    # Days after the first searched day of the first and last dates the hours apply; None: open.
    applies: tuple[int | None, int | None]

    def applies_on(self, day: date, first_day: date) -> bool:
        first, last = self.applies
        offset = (day - first_day).days
        return (first is None or first <= offset) and (last is None or offset <= last)

    def dates_meet(self, other: Window) -> bool:
        first = max(d for d in (self.applies[0], other.applies[0], -(10**6)) if d is not None)
        last = min(d for d in (self.applies[1], other.applies[1], 10**6) if d is not None)
        return first <= last


@dataclass(frozen=True)
class Override:
    day_offset: int
    open_hours: tuple[time, time] | None
    slot_minutes: int


@dataclass(frozen=True)
class Booking:
    """An appointment placed inside (or just around) one of the drawn windows."""

    window_index: int
    quarter_offset: int
    minutes: int
    for_searcher: bool
    cancelled: bool


def quarter_hours(low: int, high: int) -> st.SearchStrategy[time]:
    # DST changes happen between 00:00 and 03:00 local in these zones; hours from 06:00 on
    # keep Python's and PostgreSQL's reading of wall-clock times identical.
    return st.integers(low * 4, high * 4).map(lambda q: time(q // 4, q % 4 * 15))


@st.composite
def applying_dates(draw: st.DrawFn) -> tuple[int | None, int | None]:
    first, last = draw(st.none() | st.integers(-3, 24)), draw(st.none() | st.integers(-3, 24))
    if first is not None and last is not None and last < first:
        first, last = last, first
    return first, last


@st.composite
def windows(draw: st.DrawFn) -> Window:
    start = draw(quarter_hours(6, 20))
    length = draw(st.integers(4, 28)) * 15
    end_minutes = min(start.hour * 60 + start.minute + length, 23 * 60 + 45)
    return Window(
        day_of_week=draw(st.integers(0, 6)),
        start=start,
        end=time(end_minutes // 60, end_minutes % 60),
        slot_minutes=draw(st.sampled_from(SLOT_LENGTHS)),
        types=draw(st.none() | st.sets(st.sampled_from(TYPES), min_size=1).map(lambda s: tuple(sorted(s)))),
        location=draw(st.sampled_from(LOCATIONS)),
        max_per_day=draw(st.none() | st.integers(1, 4)),
        applies=draw(applying_dates()),
    )


@st.composite
def hours_changing_on_a_date(draw: st.DrawFn) -> list[Window]:
    """A window until a date, and other hours on its weekday from the next (another grid, place
    or time), as set_weekly_hours leaves them."""
    before, after = draw(windows()), draw(windows())
    changed_on = draw(st.integers(1, 27))
    return [
        replace(before, applies=(None, changed_on - 1)),
        replace(after, day_of_week=before.day_of_week, applies=(changed_on, None)),
    ]


@st.composite
def overrides(draw: st.DrawFn) -> Override:
    opened = draw(st.booleans())
    hours = None
    if opened:
        start = draw(quarter_hours(6, 18))
        hours = (start, time(start.hour + draw(st.integers(1, 5)), start.minute))
    return Override(draw(st.integers(0, 6)), hours, draw(st.sampled_from(SLOT_LENGTHS)))


bookings = st.builds(
    Booking,
    window_index=st.integers(0, 5),
    quarter_offset=st.integers(-4, 24),
    minutes=st.sampled_from([15, 30, 45, 60, 90]),
    for_searcher=st.booleans(),
    cancelled=st.booleans(),
)


def no_overlapping_windows(items: list[Window]) -> list[Window]:
    kept: list[Window] = []
    for window in items:
        if all(
            other.day_of_week != window.day_of_week
            or window.end <= other.start
            or other.end <= window.start
            or not window.dates_meet(other)
            for other in kept
        ):
            kept.append(window)
    return kept


def add_weekly_hours(
    db: psycopg.Connection, clinician: str, drawn: list[Window], first_day: date
) -> list[Window]:
    """Writes the drawn windows that do not overlap an earlier one; returns those."""
    weekly = no_overlapping_windows(drawn)
    for w in weekly:
        db.execute(
            "insert into clinician_availability (clinician_id, day_of_week, start_time, end_time,"
            " slot_duration_minutes, appointment_types, location_type, max_appointments_per_day,"
            " effective_from, effective_until) values (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                clinician,
                w.day_of_week,
                w.start,
                w.end,
                w.slot_minutes,
                list(w.types) if w.types else None,
                w.location,
                w.max_per_day,
                *(None if offset is None else first_day + timedelta(days=offset) for offset in w.applies),
            ],
        )
    return weekly


def overlaps(a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime) -> bool:
    return a_start < b_end and b_start < a_end


def local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def in_window(first_day: date, window: Window, quarter_offset: int, zone: ZoneInfo) -> datetime:
    """The instant `quarter_offset` quarter-hours after the window opens on its first day in range."""
    day = first_day + timedelta(days=(window.day_of_week - first_day.isoweekday() % 7) % 7)
    return local_instant(day, window.start, zone) + timedelta(minutes=15 * quarter_offset)


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    zone_name=st.sampled_from(ZONES),
    buffer_minutes=st.sampled_from([0, 5, 15]),
    min_notice_minutes=st.sampled_from([0, 120, 1440]),
    drawn_windows=st.lists(windows(), min_size=1, max_size=6),
    drawn_overrides=st.lists(overrides(), max_size=2, unique_by=lambda o: o.day_offset),
    drawn_bookings=st.lists(bookings, max_size=8),
    # The searcher's visits with another clinician: (window index, quarter-hours in, minutes).
    visits_elsewhere=st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 12), st.sampled_from([15, 30, 45])),
        min_size=1,
        max_size=2,
    ),
    busy=st.lists(st.tuples(st.integers(0, 5), st.integers(-4, 24), st.integers(1, 12)), max_size=3),
    # Events in the patient's own calendar, imported as their busy blocks.
    patient_busy=st.lists(st.tuples(st.integers(0, 5), st.integers(-4, 40), st.integers(1, 8)), max_size=2),
    search_type=st.sampled_from(TYPES),
    # The length the clinician sets for the searched type, if any.
    type_length=st.none() | st.sampled_from(SLOT_LENGTHS),
    search_days=st.integers(1, 8),
    to_book=st.integers(0, 1000),
    probe=st.tuples(
        st.integers(0, 5), st.integers(-4, 40), st.sampled_from(SLOT_LENGTHS), st.sampled_from(LOCATIONS)
    ),
)
def test_every_returned_slot_is_inside_hours_free_and_bookable(
    db: psycopg.Connection,
    act_as,
    zone_name: str,
    buffer_minutes: int,
    min_notice_minutes: int,
    drawn_windows: list[Window],
    drawn_overrides: list[Override],
    drawn_bookings: list[Booking],
    visits_elsewhere: list[tuple[int, int, int]],
    busy: list[tuple[int, int, int]],
    patient_busy: list[tuple[int, int, int]],
    search_type: str,
    type_length: int | None,
    search_days: int,
    to_book: int,
    probe: tuple[int, int, int, str | None],
) -> None:
    zone = ZoneInfo(zone_name)
    first_day = datetime.now(zone).date() + timedelta(days=2)
    with db.transaction(force_rollback=True):
        clinician = db.execute(
            "select tests.create_clinician('clin@example.com', %s, %s, 730, %s)",
            [zone_name, min_notice_minutes, buffer_minutes],
        ).fetchone()[0]
        searcher = db.execute("select tests.create_user('searcher@example.com')").fetchone()[0]
        other = db.execute("select tests.create_user('other@example.com')").fetchone()[0]
        elsewhere = db.execute("select tests.create_clinician('elsewhere@example.com')").fetchone()[0]
        db.execute("select tests.connect(%s, %s)", [clinician, searcher])
        db.execute("select tests.connect(%s, %s)", [elsewhere, searcher])

        weekly = add_weekly_hours(db, clinician, drawn_windows, first_day)
        if type_length is not None:
            db.execute(
                "insert into clinician_visit_lengths (clinician_id, appointment_type, duration_minutes)"
                " values (%s, %s, %s)",
                [clinician, search_type, type_length],
            )
        override_by_day = {first_day + timedelta(days=o.day_offset): o for o in drawn_overrides}
        for day, o in override_by_day.items():
            db.execute(
                "insert into clinician_date_overrides (clinician_id, override_date, is_available,"
                " start_time, end_time, slot_duration_minutes) values (%s, %s, %s, %s, %s, %s)",
                [clinician, day, o.open_hours is not None, *(o.open_hours or (None, None)), o.slot_minutes],
            )
        for window_index, quarter_offset, minutes in visits_elsewhere:
            start = in_window(first_day, weekly[window_index % len(weekly)], quarter_offset, zone)
            with contextlib.suppress(psycopg.errors.ExclusionViolation), db.transaction():
                db.execute(
                    "select tests.add_appointment(%s, %s, %s, %s)", [elsewhere, searcher, start, minutes]
                )
        for b in drawn_bookings:
            start = in_window(first_day, weekly[b.window_index % len(weekly)], b.quarter_offset, zone)
            # A draw that overlaps an earlier one is simply skipped.
            with contextlib.suppress(psycopg.errors.ExclusionViolation), db.transaction():
                db.execute(
                    "select tests.add_appointment(%s, %s, %s, %s, %s)",
                    [
                        clinician,
                        searcher if b.for_searcher else other,
                        start,
                        b.minutes,
                        "cancelled" if b.cancelled else "confirmed",
                    ],
                )
        for window_index, quarter_offset, quarters in busy:
            start = in_window(first_day, weekly[window_index % len(weekly)], quarter_offset, zone)
            db.execute(
                "insert into calendar_busy_blocks (user_id, starts_at, ends_at) values (%s, %s, %s)",
                [clinician, start, start + timedelta(minutes=quarters * 15)],
            )
        for number, (window_index, quarter_offset, quarters) in enumerate(patient_busy):
            start = in_window(first_day, weekly[window_index % len(weekly)], quarter_offset, zone)
            db.execute(
                "insert into calendar_busy_blocks (user_id, source, external_event_id, starts_at, ends_at)"
                " values (%s, 'google', %s, %s, %s)",
                [searcher, f"event-{number}", start, start + timedelta(minutes=quarters * 15)],
            )

        range_start = local_instant(first_day, time(0), zone)
        range_end = range_start + timedelta(days=search_days)
        blocking = db.execute(
            "select scheduled_start, scheduled_end, blocked_until, clinician_id = %s, patient_id = %s"
            " from appointments where status in ('requested', 'confirmed', 'in_progress')",
            [clinician, searcher],
        ).fetchall()
        busy_blocks = db.execute(
            "select starts_at, ends_at, user_id = %s from calendar_busy_blocks", [searcher]
        ).fetchall()

        # The week every drawn visit lies in (each is in its window's first day from first_day),
        # any type, searched by the clinician for the patient and then by the patient.
        week_search = (
            "select slot_start, slot_end, location_type from get_available_slots(clinician_id => %s,"
            " range_start => %s, range_end => %s, patient_id => %s)"
        )
        week = [range_start, range_start + timedelta(days=7)]
        act_as(clinician)
        for_the_searcher = db.execute(week_search, [clinician, *week, searcher]).fetchall()
        db.execute("select tests.clear_authentication()")
        act_as(searcher)
        by_the_searcher = db.execute(week_search, [clinician, *week, None]).fetchall()
        slots = db.execute(
            "select slot_start, slot_end, location_type, now() from get_available_slots("
            "clinician_id => %s, range_start => %s, range_end => %s, appointment_type => %s)",
            [clinician, range_start, range_end, search_type],
        ).fetchall()

        event("slots returned: " + ("none" if not slots else "1-9" if len(slots) < 10 else "10+"))
        # The clinician searching for the patient must be given exactly what the patient is.
        assert for_the_searcher == by_the_searcher
        # The hours of every date the drawn windows' dates can reach, as get_working_hours reads them.
        hours_read = db.execute(
            "select work_date, source, starts_at, ends_at from get_working_hours(%s, %s, %s)",
            [clinician, first_day - timedelta(days=4), first_day + timedelta(days=25)],
        ).fetchall()
        assert hours_read == hours_by_date(
            weekly, override_by_day, first_day - timedelta(days=4), 30, first_day, zone
        )
        # The first free slots from the range's start, which get_next_available_slots finds four
        # weeks at a time: the first of one long search (slots that start on its last day left
        # out, since the long search drops those that end past it).
        long_search = db.execute(
            "select slot_start, slot_end, location_type from get_available_slots("
            "clinician_id => %s, range_start => %s, range_end => %s, appointment_type => %s)",
            [clinician, range_start, range_start + timedelta(days=62), search_type],
        ).fetchall()
        first_three = [s for s in long_search if s[0] < range_start + timedelta(days=61)][:3]
        next_slots = db.execute(
            "select slot_start, slot_end, location_type from get_next_available_slots("
            "clinician_id => %s, after => %s, slot_count => 3, appointment_type => %s)",
            [clinician, range_start, search_type],
        ).fetchall()
        assert next_slots[: len(first_three)] == first_three
        assert len(next_slots) == 3 or len(first_three) < 3
        # Across the patient's clinicians (the other keeps no hours): the same three, each named.
        first_with_anyone = db.execute(
            "select clinician_id, slot_start, slot_end, location_type from get_first_available_slots("
            "after => %s, slot_count => 3, appointment_type => %s)",
            [range_start, search_type],
        ).fetchall()
        assert first_with_anyone == [(clinician, *slot) for slot in next_slots]
        for slot_start, slot_end, _, _ in slots:
            assert any(
                day == slot_start.astimezone(zone).date() and starts_at <= slot_start and slot_end <= ends_at
                for day, source, starts_at, ends_at in hours_read
                if source != "closed"
            ), f"{slot_start}-{slot_end} is outside every window get_working_hours gives that date"
        buffer = timedelta(minutes=buffer_minutes)
        for slot_start, slot_end, location, now in slots:
            assert range_start <= slot_start < slot_end <= range_end
            assert slot_start >= now + timedelta(minutes=min_notice_minutes)
            assert inside_some_window(
                slot_start, slot_end, location, search_type, zone, weekly, override_by_day, first_day
            ), f"{slot_start}-{slot_end} is outside the clinician's hours"
            for start, end, blocked_until, is_clinicians, is_searchers in blocking:
                if is_clinicians:
                    assert not overlaps(slot_start, slot_end + buffer, start, blocked_until)
                if is_searchers:
                    assert not overlaps(slot_start, slot_end, start, end)
            for start, end, is_searchers in busy_blocks:
                assert not overlaps(
                    slot_start, slot_end + (timedelta() if is_searchers else buffer), start, end
                )
        assert [s[0] for s in slots] == sorted(s[0] for s in slots)

        if slots:
            slot_start, slot_end, location, _ = slots[to_book % len(slots)]
            with db.transaction(force_rollback=True):
                booked = db.execute(
                    "select status from book_appointment(%s, %s, %s, %s, %s, %s)",
                    [
                        clinician,
                        searcher,
                        slot_start,
                        int((slot_end - slot_start).total_seconds() // 60),
                        search_type,
                        location or "in_person",
                    ],
                ).fetchone()
            assert booked == ("requested",)

        # Any time on or off the grid: offered exactly when it is bookable and the patient's own
        # calendar is free then (the search spares them that time; the booking takes it).
        window_index, quarter_offset, minutes, location = probe
        location = location or "in_person"
        probe_start = in_window(first_day, weekly[window_index % len(weekly)], quarter_offset, zone)
        probe_end = probe_start + timedelta(minutes=minutes)
        free_in_own_calendar = not any(
            overlaps(probe_start, probe_end, start, end)
            for start, end, is_searchers in busy_blocks
            if is_searchers
        )
        event(f"probe free in the patient's calendar: {free_in_own_calendar}")
        search_refusal = None
        try:
            with db.transaction():
                offered = db.execute(
                    "select count(*) > 0 from get_available_slots(clinician_id => %s, range_start => %s,"
                    " range_end => %s, appointment_type => %s, location_type => %s, duration_minutes => %s)"
                    " where slot_start = %s",
                    [
                        clinician,
                        probe_start,
                        probe_end,
                        search_type,
                        location,
                        minutes,
                        probe_start,
                    ],
                ).fetchone()[0]
        except psycopg.Error as error:
            # Another length than the clinician set for the type: the booking says the same.
            assert error.sqlstate == "22023" and minutes != type_length, error
            offered, search_refusal = False, error
        event(f"probe offered: {offered}")
        try:
            with db.transaction(force_rollback=True):
                db.execute(
                    "select book_appointment(%s, %s, %s, %s, %s, %s)",
                    [clinician, searcher, probe_start, minutes, search_type, location],
                )
            refused = None
        except psycopg.Error as error:
            assert error.sqlstate in ("22023", "PT409"), error
            refused = error
        assert (refused is None and free_in_own_calendar) == offered, (
            f"{probe_start} for {minutes} min: offered {offered}, {refused!r},"
            f" free in the patient's calendar {free_in_own_calendar}"
        )
        if search_refusal is not None:
            assert refused.diag.message_primary == search_refusal.diag.message_primary


def hours_by_date(
    weekly: list[Window],
    override_by_day: dict[date, Override],
    from_day: date,
    days: int,
    first_day: date,
    zone: ZoneInfo,
) -> list[tuple[date, str, datetime | None, datetime | None]]:
    """Each date's hours as the clinician set them, in get_working_hours' order: an override's
    (or the date closed), else the weekly windows that apply on it."""
    rows: list[tuple[date, str, datetime | None, datetime | None]] = []
    for day in (from_day + timedelta(days=n) for n in range(days)):
        override = override_by_day.get(day)
        if override is None:
            opens = sorted(
                (w.start, w.end)
                for w in weekly
                if w.day_of_week == day.isoweekday() % 7 and w.applies_on(day, first_day)
            )
            rows.extend(
                (day, "weekly", local_instant(day, s, zone), local_instant(day, e, zone)) for s, e in opens
            )
        elif override.open_hours is None:
            rows.append((day, "closed", None, None))
        else:
            start, end = override.open_hours
            rows.append((day, "override", local_instant(day, start, zone), local_instant(day, end, zone)))
    return rows


def inside_some_window(
    slot_start: datetime,
    slot_end: datetime,
    location: str | None,
    search_type: str,
    zone: ZoneInfo,
    weekly: list[Window],
    override_by_day: dict[date, Override],
    first_day: date,
) -> bool:
    """Whether the slot fits one opening of its local day, as the clinician set them."""
    day = slot_start.astimezone(zone).date()
    override = override_by_day.get(day)
    if override is not None:
        if override.open_hours is None:
            return False
        opens = [(override.open_hours[0], override.open_hours[1], None, None)]
    else:
        dow = (day.isoweekday()) % 7
        opens = [
            (w.start, w.end, w.types, w.location)
            for w in weekly
            if w.day_of_week == dow and w.applies_on(day, first_day)
        ]
    for start, end, types, window_location in opens:
        if types is not None and search_type not in types:
            continue
        if window_location is not None and window_location != location:
            continue
        if local_instant(day, start, zone) <= slot_start and slot_end <= local_instant(day, end, zone):
            return True
    return False


def refusal_of(db: psycopg.Connection, statement: str, params: list) -> psycopg.Error | None:
    """Runs the statement and undoes it: None when it goes through, else the refusal (22023 or
    PT409, the ones a time not offered or not free gets)."""
    try:
        with db.transaction(force_rollback=True):
            db.execute(statement, params)
    except psycopg.Error as error:
        assert error.sqlstate in ("22023", "PT409"), error
        return error
    return None


def series_refusal(
    db: psycopg.Connection, clinician, patient, start, minutes, occurrences, every, place
) -> psycopg.Error | None:
    """Books the series and undoes it: None when it books, else the refusal."""
    return refusal_of(
        db,
        "select count(*) from book_appointment_series(%s, %s, %s, %s, 'follow_up', %s, %s, %s)",
        [clinician, patient, start, minutes, place, occurrences, every],
    )


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    zone_name=st.sampled_from(ZONES),
    drawn_windows=st.builds(operator.add, hours_changing_on_a_date(), st.lists(windows(), max_size=3)),
    closed_days=st.sets(st.integers(0, 27), max_size=3),
    taken=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(-2, 16)), max_size=6),
    occurrences=st.integers(2, 4),
    every=st.integers(1, 2),
    pick=st.integers(0, 1000),
)
def test_a_series_slot_is_exactly_a_first_time_whose_every_visit_books(
    db: psycopg.Connection,
    act_as,
    zone_name: str,
    drawn_windows: list[Window],
    closed_days: set[int],
    taken: list[tuple[int, int, int]],
    occurrences: int,
    every: int,
    pick: int,
) -> None:
    """Over four weeks of weekly hours, some changing from a date, with closed dates and other
    patients' visits in any week: get_available_series_slots offers a first-week slot exactly
    when book_appointment_series books the whole series from it."""
    zone = ZoneInfo(zone_name)
    first_day = datetime.now(zone).date() + timedelta(days=2)
    with db.transaction(force_rollback=True):
        clinician = db.execute(
            "select tests.create_clinician('clin@example.com', %s, 0, 730, 0)", [zone_name]
        ).fetchone()[0]
        searcher = db.execute("select tests.create_user('searcher@example.com')").fetchone()[0]
        other = db.execute("select tests.create_user('other@example.com')").fetchone()[0]
        db.execute("select tests.connect(%s, %s)", [clinician, searcher])
        weekly = add_weekly_hours(db, clinician, drawn_windows, first_day)
        for offset in closed_days:
            db.execute(
                "insert into clinician_date_overrides (clinician_id, override_date) values (%s, %s)",
                [clinician, first_day + timedelta(days=offset)],
            )
        for window_index, week, quarter_offset in taken:
            start = in_window(
                first_day + timedelta(weeks=week), weekly[window_index % len(weekly)], quarter_offset, zone
            )
            with contextlib.suppress(psycopg.errors.ExclusionViolation), db.transaction():
                db.execute("select tests.add_appointment(%s, %s, %s)", [clinician, other, start])

        range_start = local_instant(first_day, time(0), zone)
        range_end = range_start + timedelta(days=7)
        act_as(searcher)
        slots = db.execute(
            "select slot_start, slot_end, location_type from get_available_slots("
            "clinician_id => %s, range_start => %s, range_end => %s, appointment_type => 'follow_up')",
            [clinician, range_start, range_end],
        ).fetchall()
        series_locations = dict(
            db.execute(
                "select slot_start, location_type from get_available_series_slots(clinician_id => %s,"
                " range_start => %s, range_end => %s, occurrences => %s, interval_weeks => %s,"
                " appointment_type => 'follow_up')",
                [clinician, range_start, range_end, occurrences, every],
            ).fetchall()
        )
        assert set(series_locations) <= {slot[0] for slot in slots}
        event("series slots: " + ("none" if not series_locations else "some"))
        if not slots:
            return

        slot_start, slot_end, location = slots[pick % len(slots)]
        if slot_start in series_locations:
            # A slot offered anywhere may take a later week's one location.
            assert location in (None, series_locations[slot_start])
            places = [series_locations[slot_start] or "in_person"]
        else:
            places = [location] if location else ["in_person", "video"]
        minutes = int((slot_end - slot_start).total_seconds() // 60)
        series = [clinician, searcher, slot_start, minutes, occurrences, every]
        refusals = [refusal for place in places if (refusal := series_refusal(db, *series, place))]
        booked = len(refusals) < len(places)
        event(f"picked slot books as a series: {booked}")
        assert booked == (slot_start in series_locations), f"{slot_start} at {places}: {refusals!r}"


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    zone_name=st.sampled_from(ZONES),
    buffer_minutes=st.sampled_from([0, 15]),
    drawn_windows=st.builds(operator.add, hours_changing_on_a_date(), st.lists(windows(), max_size=3)),
    closed_days=st.sets(st.integers(0, 27), max_size=3),
    # The series' first visit: (window index, quarter-hours in); its length and repetitions.
    series_start=st.tuples(st.integers(0, 3), st.integers(0, 8)),
    series_minutes=st.sampled_from([30, 45]),
    occurrences=st.integers(2, 3),
    every=st.integers(1, 2),
    # Other visits: (window index, week, quarter-hours in, the searcher's own with another clinician).
    taken=st.lists(
        st.tuples(st.integers(0, 3), st.integers(0, 4), st.integers(-2, 16), st.booleans()), max_size=6
    ),
    pick=st.integers(0, 1000),
)
def test_a_series_move_time_is_exactly_one_the_whole_series_moves_to(
    db: psycopg.Connection,
    act_as,
    zone_name: str,
    buffer_minutes: int,
    drawn_windows: list[Window],
    closed_days: set[int],
    series_start: tuple[int, int],
    series_minutes: int,
    occurrences: int,
    every: int,
    taken: list[tuple[int, int, int, bool]],
    pick: int,
) -> None:
    """A series the clinician booked inside drawn hours, with closed dates and other visits
    around it (the patient's elsewhere too): get_series_move_slots gives a new first time exactly
    when reschedule_appointment_series moves the patient's whole series there. The times probed
    are the search's and the first visit's own free times (get_available_slots moving it)."""
    zone = ZoneInfo(zone_name)
    first_day = datetime.now(zone).date() + timedelta(days=2)
    with db.transaction(force_rollback=True):
        clinician = db.execute(
            "select tests.create_clinician('clin@example.com', %s, 0, 730, %s)", [zone_name, buffer_minutes]
        ).fetchone()[0]
        elsewhere = db.execute("select tests.create_clinician('elsewhere@example.com')").fetchone()[0]
        searcher = db.execute("select tests.create_user('searcher@example.com')").fetchone()[0]
        other = db.execute("select tests.create_user('other@example.com')").fetchone()[0]
        db.execute("select tests.connect(%s, %s)", [clinician, searcher])
        db.execute("select tests.connect(%s, %s)", [elsewhere, searcher])
        weekly = add_weekly_hours(db, clinician, drawn_windows, first_day)
        for offset in closed_days:
            db.execute(
                "insert into clinician_date_overrides (clinician_id, override_date) values (%s, %s)",
                [clinician, first_day + timedelta(days=offset)],
            )
        window_index, quarter_offset = series_start
        act_as(clinician)
        try:
            with db.transaction():
                series_id = db.execute(
                    "select series_id from book_appointment_series("
                    "%s, %s, %s, %s, 'follow_up', 'in_person', %s, %s) limit 1",
                    [
                        clinician,
                        searcher,
                        in_window(first_day, weekly[window_index % len(weekly)], quarter_offset, zone),
                        series_minutes,
                        occurrences,
                        every,
                    ],
                ).fetchone()[0]
        except psycopg.Error as error:
            assert error.sqlstate in ("22023", "PT409"), error
            event("series not booked")
            return
        db.execute("select tests.clear_authentication()")
        for window_index, week, quarter_offset, searchers_own in taken:
            start = in_window(
                first_day + timedelta(weeks=week), weekly[window_index % len(weekly)], quarter_offset, zone
            )
            with contextlib.suppress(psycopg.errors.ExclusionViolation), db.transaction():
                if searchers_own:
                    db.execute("select tests.add_appointment(%s, %s, %s)", [elsewhere, searcher, start])
                else:
                    db.execute("select tests.add_appointment(%s, %s, %s)", [clinician, other, start])
        first_visit, first_start = db.execute(
            "select id, scheduled_start from appointments where series_id = %s"
            " order by scheduled_start limit 1",
            [series_id],
        ).fetchone()

        range_start = local_instant(first_day, time(0), zone)
        range_end = range_start + timedelta(days=7)
        act_as(searcher)
        move_times = {
            row[0]
            for row in db.execute(
                "select slot_start from get_series_move_slots("
                "series_id => %s, range_start => %s, range_end => %s)",
                [series_id, range_start, range_end],
            )
        }
        first_visit_times = {
            row[0]
            for row in db.execute(
                "select slot_start from get_available_slots(clinician_id => %s, range_start => %s,"
                " range_end => %s, moving_appointment_id => %s)",
                [clinician, range_start, range_end, first_visit],
            )
        }
        assert move_times <= first_visit_times
        event("series move times: " + ("none" if not move_times else "some"))
        # Moving to where it is changes nothing and is accepted wherever that is.
        probes = sorted(first_visit_times - {first_start})
        if not probes:
            return
        new_start = probes[pick % len(probes)]
        refusal = refusal_of(
            db, "select count(*) from reschedule_appointment_series(%s, %s)", [series_id, new_start]
        )
        event(f"picked time moves the series: {refusal is None}")
        assert (refusal is None) == (new_start in move_times), f"{new_start}: {refusal!r}"
