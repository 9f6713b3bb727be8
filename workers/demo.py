"""`scheduling demo`: a walk through the product on the seeded local database.

Every step runs as PostgREST would run the dashboard's request: inside a transaction, as the
`authenticated` role with the user's JWT claims, calling the public RPCs.
"""

from __future__ import annotations

import email
import json
from datetime import UTC, datetime, timedelta
from email import policy
from zoneinfo import ZoneInfo

import psycopg
from icalendar import Calendar
from psycopg.rows import dict_row

SLOTS_SHOWN = 4


def act_as(conn: psycopg.Connection, user_id: str) -> None:
    """What PostgREST does per request for a signed-in user (lasts until the transaction ends)."""
    conn.execute(
        "select set_config('role', 'authenticated', true), set_config('request.jwt.claims', %s, true)",
        [json.dumps({"sub": str(user_id), "role": "authenticated"})],
    )


def run(database_url: str) -> None:
    # Autocommit, so that each `conn.transaction()` below is a request of its own.
    with psycopg.connect(database_url, row_factory=dict_row, autocommit=True) as conn:
        patient = conn.execute(
            "select id, email from auth.users where email = 'pat.jones@example.com'"
        ).fetchone()
        if patient is None:
            raise SystemExit("the demo needs the seed: run `scheduling db reset` first")
        print(f"Signed in as patient {patient['email']}\n")
        show_clinicians_and_slots(conn, patient["id"])
        appointment_id = offer_and_accept(conn, patient["id"])
    with psycopg.connect(database_url) as conn:
        show_emails(conn, appointment_id)
    with psycopg.connect(database_url) as conn:
        show_calendar_sync(conn, database_url)
    with psycopg.connect(database_url, row_factory=dict_row, autocommit=True) as conn:
        show_waitlist_offer_of_opened_hours(conn)
        show_week_of_statistics(conn)
        show_schedule_conflicts(conn, appointment_id)
        show_hours_from_a_date(conn, patient["id"])


def show_clinicians_and_slots(conn: psycopg.Connection, patient_id: str) -> None:
    now = datetime.now(UTC)
    with conn.transaction(force_rollback=True):
        act_as(conn, patient_id)
        clinicians = conn.execute(
            "select clinician_id, display_name, timezone from clinicians order by display_name"
        ).fetchall()
        for clinician in clinicians:
            zone = ZoneInfo(clinician["timezone"])
            slots = conn.execute(
                "select * from get_available_slots(clinician_id => %s, range_start => %s,"
                " range_end => %s) limit %s",
                [clinician["clinician_id"], now, now + timedelta(days=14), SLOTS_SHOWN],
            ).fetchall()
            print(f"{clinician['display_name']} ({clinician['timezone']}): next free slots")
            for slot in slots:
                local = slot["slot_start"].astimezone(zone)
                print(
                    f"  {local:%a %d %b %H:%M} - {slot['slot_end'].astimezone(zone):%H:%M}"
                    f"  {slot['location_type'] or 'any location'}"
                )
            if not slots:
                print("  none in the next 14 days")
            print()


def offer_and_accept(conn: psycopg.Connection, patient_id: str) -> str:
    """In a message thread, Dr Okafor offers three times; the patient accepts the second."""
    clinician = conn.execute(
        "select clinician_id, display_name, timezone from clinicians where display_name = 'Dr Ada Okafor'"
    ).fetchone()
    zone = ZoneInfo(clinician["timezone"])
    now = datetime.now(UTC)
    with conn.transaction():
        act_as(conn, clinician["clinician_id"])
        slots = conn.execute(
            "select slot_start, slot_end from get_available_slots(%s, %s, %s, location_type => 'video')"
            " where slot_start > %s limit 3",
            [clinician["clinician_id"], now, now + timedelta(days=14), now + timedelta(days=2)],
        ).fetchall()
        options = [
            {
                "start": slot["slot_start"].isoformat(),
                "end": slot["slot_end"].isoformat(),
                "duration": int((slot["slot_end"] - slot["slot_start"]).total_seconds() // 60),
            }
            for slot in slots
        ]
        offer = conn.execute(
            "select id, expires_at from offer_appointment_times(offered_to => %s, time_options => %s,"
            " appointment_type => 'follow_up', location_type => 'video')",
            [patient_id, json.dumps(options)],
        ).fetchone()
    print(f"{clinician['display_name']} offers three times in the conversation:")
    for number, slot in enumerate(slots, start=1):
        print(f"  {number}. {slot['slot_start'].astimezone(zone):%a %d %b %H:%M} (video)")
    print(f"  (the offer expires {offer['expires_at'].astimezone(zone):%a %d %b %H:%M})\n")

    with conn.transaction():
        act_as(conn, patient_id)
        conn.execute("select respond_to_offer(%s, 'accept', 1)", [offer["id"]])
        appointment = conn.execute(
            "select a.id, a.status, a.scheduled_start, a.scheduled_end, a.appointment_type, a.location_type"
            " from appointments as a join appointment_time_slots as s on s.appointment_id = a.id"
            " where s.id = %s",
            [offer["id"]],
        ).fetchone()
    print("The patient accepts the second; the appointment exists at once:")
    print(
        f"  {appointment['scheduled_start'].astimezone(zone):%a %d %b %H:%M}-"
        f"{appointment['scheduled_end'].astimezone(zone):%H:%M} {clinician['timezone']},"
        f" {appointment['appointment_type']}, {appointment['location_type']}, {appointment['status']}"
    )
    with conn.transaction():
        act_as(conn, patient_id)
        said = conn.execute(
            "select (confirm_attendance(%s)).patient_confirmed_at", [appointment["id"]]
        ).fetchone()["patient_confirmed_at"]
    print(f"and says they will come (confirm_attendance): patient_confirmed_at {said.astimezone(zone):%H:%M}")
    return appointment["id"]


def show_emails(conn: psycopg.Connection, appointment_id: str) -> None:
    """The worker's email delivery into a local SMTP sink: the notices, then a reminder."""
    # Imported here: aiosmtpd is only needed for this local sink, not by the worker.
    from aiosmtpd.controller import Controller

    from workers import jobs
    from workers.localdb import free_port
    from workers.settings import Settings, SmtpSettings

    sink = EmailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        settings = Settings(
            worker_name="demo",
            app_base_url="http://localhost:3000",
            smtp=SmtpSettings(
                "127.0.0.1", controller.port, "Clinic <no-reply@clinic.example>", None, None, False
            ),
        )
        jobs.run_due_jobs(conn, settings)
        print(f"\nThe worker emails the notices to a local SMTP sink ({len(sink.messages)} messages), e.g.:")
        for message in [
            m for m in sink.messages if str(appointment_id) in m.get_body(("plain",)).get_content()
        ]:
            print(f"  to {message['To']}: {message['Subject']}")
        sink.messages.clear()
        link = conn.execute(
            "select video_call_link from appointments where id = %s", [appointment_id]
        ).fetchone()[0]
        print(f"\nThe worker also made the video room (Jitsi): {link}")

        # Instead of waiting until a day before the visit, move the reminders' time to now.
        conn.execute(
            "update appointment_reminders set scheduled_for = now()"
            " where appointment_id = %s and channel = 'email'",
            [appointment_id],
        )
        conn.execute(
            "update scheduling_private.jobs set run_after = now() where kind = 'reminder_email'"
            " and payload ->> 'reminder_id' in"
            " (select id::text from appointment_reminders where appointment_id = %s)",
            [appointment_id],
        )
        conn.commit()
        jobs.run_due_jobs(conn, settings)
        print("\nA day before, the reminders (with an .ics invite):")
        for message in sink.messages:
            invite = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
            event = next(iter(Calendar.from_ical(invite.get_content()).walk("VEVENT")))
            starts = f"{event.decoded('DTSTART'):%a %d %b at %H:%M} {event['DTSTART'].params['TZID']}"
            print(f"  to {message['To']}: {message['Subject']} [{message['Message-ID']}, invite {starts}]")
    finally:
        controller.stop()


def show_calendar_sync(conn: psycopg.Connection, database_url: str) -> None:
    """Dr Okafor blocks her lunch and connects a CalDAV calendar (a local Radicale): her visits and
    the blocked time appear in it."""
    # Imported here: Radicale and the test client only serve this local walk-through.
    import tempfile
    from pathlib import Path

    import caldav
    import jwt
    from starlette.testclient import TestClient

    from workers import jobs
    from workers.calendars.secrets import SecretBox, new_key_setting
    from workers.http.app import create_app
    from workers.local_caldav import Radicale
    from workers.settings import Settings

    clinician_id, zone = conn.execute(
        "select clinician_id, timezone from clinicians where display_name = 'Dr Ada Okafor'"
    ).fetchone()
    jwt_secret = "demo-jwt-secret-" + "x" * 32
    settings = Settings(
        worker_name="demo",
        app_base_url="http://localhost:3000",
        smtp=None,
        secret_box=SecretBox.from_setting(new_key_setting()),
        jwt_secret=jwt_secret,
        private_hosts_allowed=frozenset({"127.0.0.1"}),  # the demo's own Radicale
    )
    with tempfile.TemporaryDirectory() as folder:
        radicale = Radicale(Path(folder))
        try:
            radicale.add_user("ada", "app-specific-password")
            with caldav.DAVClient(radicale.url, username="ada", password="app-specific-password") as dav:
                calendar = dav.principal().make_calendar(name="Ada's calendar", cal_id="personal")
                # The dashboard's request, with Dr Okafor's Supabase access token.
                token = jwt.encode(
                    {
                        "sub": str(clinician_id),
                        "role": "authenticated",
                        "aud": "authenticated",
                        "exp": datetime.now(UTC) + timedelta(hours=1),
                    },
                    jwt_secret,
                )
                # Her lunch is outside her hours; blocked, it keeps colleagues booking her there off.
                act_as(conn, clinician_id)
                conn.execute(
                    "insert into calendar_busy_blocks (starts_at, ends_at, summary)"
                    " values ((current_date + 1 + time '12:30') at time zone %(zone)s,"
                    " (current_date + 1 + time '13:30') at time zone %(zone)s, 'Lunch with the team')",
                    {"zone": zone},
                )
                conn.commit()
                answer = TestClient(create_app(database_url, settings)).post(
                    "/calendar/connect/caldav",
                    json={"server_url": radicale.url, "username": "ada", "password": "app-specific-password"},
                    headers={"Authorization": f"Bearer {token}"},
                )
                answer.raise_for_status()
                pushed = jobs.run_due_jobs(conn, settings)
                print(
                    f"\nDr Okafor connects her CalDAV calendar ({answer.json()['calendar_name']}, a local"
                    f" Radicale), having blocked tomorrow's lunch; the worker ran {pushed} sync jobs."
                    " The calendar now shows:"
                )
                events = sorted(
                    (item.icalendar_component for item in calendar.get_events()),
                    key=lambda event: event.decoded("dtstart"),
                )
                for event in events:
                    start = event.decoded("dtstart").astimezone(ZoneInfo(zone))
                    # Blocked time carries no STATUS: it is busy (TRANSP:OPAQUE).
                    print(f"  {start:%a %d %b %H:%M}  {event['summary']}  [{event.get('status', 'BUSY')}]")
        finally:
            radicale.stop()


class EmailSink:
    """Keeps what the local SMTP server receives."""

    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope) -> str:

        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def show_waitlist_offer_of_opened_hours(conn: psycopg.Connection) -> None:
    """Lee Chen waits for a Saturday with Dr Okafor, who opens one: the offer is made in the same
    transaction. Rolled back, so the demo can run again."""
    clinician = conn.execute(
        "select clinician_id, timezone from clinicians where display_name = 'Dr Ada Okafor'"
    ).fetchone()
    patient = conn.execute("select id from auth.users where email = 'lee.chen@example.com'").fetchone()
    zone = ZoneInfo(clinician["timezone"])
    today = datetime.now(zone).date()
    saturday = today + timedelta(days=(5 - today.weekday()) % 7 or 7)
    with conn.transaction(force_rollback=True):
        act_as(conn, patient["id"])
        conn.execute(
            "insert into appointment_waitlist (clinician_id, patient_id, appointment_type, preferred_dates)"
            " values (%s, %s, 'follow_up', %s)",
            [clinician["clinician_id"], patient["id"], [saturday]],
        )
        act_as(conn, clinician["clinician_id"])
        conn.execute(
            "insert into clinician_date_overrides (clinician_id, override_date, is_available, start_time,"
            " end_time, reason) values (%s, %s, true, '09:00', '12:00', 'Saturday clinic')",
            [clinician["clinician_id"], saturday],
        )
        act_as(conn, patient["id"])
        offer = conn.execute(
            "select time_options -> 0 as option, location_type, expires_at from appointment_time_slots"
            " where offered_to = auth.uid() and status = 'pending'"
        ).fetchone()
        act_as(conn, clinician["clinician_id"])
        conn.execute("delete from clinician_date_overrides where override_date = %s", [saturday])
        act_as(conn, patient["id"])
        told = conn.execute(
            "select n.title from notifications as n join appointment_time_slots as s on s.id = n.offer_id"
            " where n.user_id = auth.uid() and s.waitlist_entry_id is not null order by n.created_at, n.kind"
        ).fetchall()
        conn.execute("reset role")
        emails = conn.execute(
            "select format('%%s (%%s)', payload ->> 'kind', status) as notice from scheduling_private.jobs"
            " where kind = 'notice_email' and payload ->> 'user_id' = %s"
            " and payload ->> 'kind' like 'offer%%' order by id",
            [str(patient["id"])],
        ).fetchall()
    start = datetime.fromisoformat(offer["option"]["start"]).astimezone(zone)
    print(
        f"\nLee Chen waits for {saturday:%a %d %b} with Dr Ada Okafor, who opens it 09:00-12:00 for once;"
        " in the same transaction Lee is offered:"
    )
    print(
        f"  {start:%a %d %b %H:%M} ({offer['option']['duration']} minutes, {offer['location_type']}),"
        f" to answer by {offer['expires_at'].astimezone(zone):%a %d %b %H:%M}"
    )
    print(
        "She takes the Saturday back before any worker ran: the offer is withdrawn; Lee's in-app list"
        f" reads {', '.join(repr(row['title']) for row in told)};"
        f" Lee's email notices of offers: {', '.join(row['notice'] for row in emails)}"
    )
    print("  (rolled back: the demo leaves Saturday closed)")


def show_week_of_statistics(conn: psycopg.Connection) -> None:
    """Dr Okafor's coming week as her dashboard shows it, rebuilt with the public RPC."""
    clinician = conn.execute(
        "select clinician_id, timezone from clinicians where display_name = 'Dr Ada Okafor'"
    ).fetchone()
    today = datetime.now(ZoneInfo(clinician["timezone"])).date()
    with conn.transaction():
        act_as(conn, clinician["clinician_id"])
        conn.execute(
            "select refresh_appointment_statistics(%s, %s, %s)",
            [clinician["clinician_id"], today, today + timedelta(days=6)],
        )
        days = conn.execute(
            "select stat_date, total_appointments, cancelled_appointments, booked_minutes,"
            " available_minutes, utilization_rate from appointment_statistics"
            " where stat_date between %s and %s order by stat_date",
            [today, today + timedelta(days=6)],
        ).fetchall()
    print("\nDr Ada Okafor's week (statistics):")
    print("  day         visits  cancelled  booked min  open min  utilisation")
    for day in days:
        rate = "-" if day["utilization_rate"] is None else f"{day['utilization_rate']:.1%}"
        print(
            f"  {day['stat_date']:%a %d %b}  {day['total_appointments']:6}  {day['cancelled_appointments']:9}"
            f"  {day['booked_minutes']:10}  {day['available_minutes']:8}  {rate:>11}"
        )


def show_schedule_conflicts(conn: psycopg.Connection, appointment_id: str) -> None:
    """What if Dr Okafor closed the day of the accepted visit, or blocked its hour? Asked, then
    rolled back."""
    visit = conn.execute(
        "select a.clinician_id, a.scheduled_start, c.timezone from appointments as a"
        " join clinicians as c using (clinician_id) where a.id = %s",
        [appointment_id],
    ).fetchone()
    zone = ZoneInfo(visit["timezone"])
    day = visit["scheduled_start"].astimezone(zone).date()
    with conn.transaction(force_rollback=True):
        act_as(conn, visit["clinician_id"])
        conn.execute(
            "insert into clinician_date_overrides (clinician_id, override_date, is_available, reason)"
            " values (%s, %s, false, 'Training day')",
            [visit["clinician_id"], day],
        )
        conn.execute(
            "insert into calendar_busy_blocks (starts_at, ends_at, summary)"
            " values (%(start)s, %(start)s + interval '1 hour', 'Team meeting')",
            {"start": visit["scheduled_start"]},
        )
        conflicts = conn.execute(
            # That day's only: the seed's other visits may fall on a day without hours.
            "select scheduled_start, conflict, detail from schedule_conflicts()"
            " where (scheduled_start at time zone %s)::date = %s order by scheduled_start, conflict",
            [visit["timezone"], day],
        ).fetchall()
    print(
        f"\nIf Dr Ada Okafor closed {day:%a %d %b} for a training day and blocked the visit's hour"
        " for a meeting, schedule_conflicts() would list:"
    )
    for row in conflicts:
        start = row["scheduled_start"].astimezone(zone)
        print(f"  {start:%a %d %b %H:%M}  {row['conflict']}: {row['detail']}")
    print("  (rolled back: the demo leaves the day open)")


def show_hours_from_a_date(conn: psycopg.Connection, patient_id: str) -> None:
    """Dr Okafor works mornings only from the Monday three weeks ahead (set_weekly_hours): her
    hours (get_working_hours) and the patient's free slots on the Friday before and that Monday.
    Rolled back."""
    clinician = conn.execute(
        "select clinician_id, timezone from clinicians where display_name = 'Dr Ada Okafor'"
    ).fetchone()
    zone = ZoneInfo(clinician["timezone"])
    today = datetime.now(zone).date()
    monday = today + timedelta(days=21 - today.weekday())
    mornings = [{"day_of_week": d, "start_time": "09:00", "end_time": "13:00"} for d in range(1, 6)]
    print(
        f"\nIf Dr Ada Okafor worked mornings only from {monday:%a %d %b} (set_weekly_hours),"
        " her hours and the patient's free slots would be:"
    )
    with conn.transaction(force_rollback=True):
        act_as(conn, clinician["clinician_id"])
        conn.execute("select count(*) from set_weekly_hours(%s, %s)", [monday, json.dumps(mornings)])
        act_as(conn, patient_id)
        for day in (monday - timedelta(days=3), monday):
            hours = conn.execute(
                "select string_agg(to_char(start_time, 'HH24:MI') || '-' || to_char(end_time, 'HH24:MI'),"
                " ', ' order by start_time) from get_working_hours(%s, %s, %s)",
                [clinician["clinician_id"], day, day],
            ).fetchone()["string_agg"]
            start = datetime.combine(day, datetime.min.time(), tzinfo=zone)
            slots = conn.execute(
                "select count(*) from get_available_slots(clinician_id => %s, range_start => %s,"
                " range_end => %s)",
                [clinician["clinician_id"], start, start + timedelta(days=1)],
            ).fetchone()["count"]
            print(f"  {day:%a %d %b}: hours {hours or 'none'}; {slots} free slots")
    print("  (rolled back: the demo keeps her hours)")
