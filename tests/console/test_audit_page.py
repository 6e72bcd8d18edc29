"""Audit log section: Event | User | IP | Date | Time, filters, paging, IP details, CSV, purge."""

from __future__ import annotations

from sqlalchemy import func, select

from shared.audit import EventType
from shared.models.audit import AuditEvent
from tests.audit.support import ago, drain, emit, record
from tests.console.support import flash_texts, post_form


def stored_events(runtime) -> int:
    with runtime.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def audit_table(html: str) -> str:
    return html.split('id="audit-table"')[1].split("<tbody>")[1].split("</tbody>")[0]


def stored_types(runtime) -> list[str]:
    """Stored event types, leaving out the console's own sign-in."""
    with runtime.session_factory() as session:
        types = session.scalars(select(AuditEvent.type).order_by(AuditEvent.id))
        return [t for t in types if t != "login.succeeded"]


def test_events_show_the_seed_columns_and_ip_details(signed_in, runtime):
    emit(
        runtime,
        record(
            EventType.API_DENIED_IP,
            effective_ip="203.0.113.9",
            forwarded_ip="203.0.113.9, 10.0.0.2",
            remote_addr="10.0.0.2",
        ),
    )
    drain(runtime)
    html = signed_in.get("/setup/audit").text
    assert "Recent security events emitted by the shared auth service." in html
    assert "<th>Event</th><th>User</th><th>IP</th><th>Date</th><th>Time</th>" in html
    row = audit_table(html)
    assert "api.denied.ip_rejected" in row
    for label, value in (
        ("Effective IP", "203.0.113.9"),
        ("Forwarded IP", "203.0.113.9, 10.0.0.2"),
        ("Remote Address", "10.0.0.2"),
    ):
        assert f"<dt>{label}</dt><dd>{value}</dd>" in row


def test_filters_and_cursor_paging(signed_in, runtime):
    emit(runtime, *[record(EventType.API_CALL, effective_ip=f"192.0.2.{n}") for n in range(60)])
    emit(
        runtime,
        record(EventType.ADMIN_APP_CREATED, effective_ip="198.51.100.1", occurred_at=ago(days=3)),
    )
    drain(runtime)
    first = signed_in.get("/setup/audit?type=api.call").text
    assert audit_table(first).count("<tr") == 50
    cursor = first.split("cursor=")[1].split('"')[0]
    older = signed_in.get(f"/setup/audit?type=api.call&cursor={cursor}").text
    assert audit_table(older).count("<tr") == 10 and "← Newest" in older
    by_ip = audit_table(signed_in.get("/setup/audit?ip=198.51.100.1").text)
    assert "admin.application.created" in by_ip and "api.call" not in by_ip
    day = ago(days=3).date().isoformat()
    dated = audit_table(signed_in.get(f"/setup/audit?from={day}&to={day}").text)
    assert "admin.application.created" in dated and "api.call" not in dated


def test_csv_export_follows_the_filters(signed_in, runtime):
    emit(
        runtime,
        record(EventType.API_CALL, effective_ip="192.0.2.1"),
        record(EventType.ADMIN_KEY_CREATED, effective_ip="192.0.2.2"),
    )
    drain(runtime)
    response = signed_in.get("/setup/audit/export.csv?type=admin.api_key.created")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    lines = response.text.strip().splitlines()
    assert len(lines) == 2 and "admin.api_key.created" in lines[1]


def test_purge_needs_the_confirmation(signed_in, runtime):
    emit(runtime, record(), record())
    drain(runtime)
    refused = post_form(signed_in, "/setup/audit/purge", {"older_than_days": "0"})
    assert refused.status_code == 422
    assert "Tick the box to confirm the purge." in refused.text
    assert len(stored_types(runtime)) == 2


def test_purge_all_history(signed_in, runtime):
    emit(runtime, record(occurred_at=ago(days=10)), record())
    drain(runtime)
    before = stored_events(runtime)
    response = post_form(signed_in, "/setup/audit/purge", {"older_than_days": "0", "confirm": "on"})
    assert response.status_code == 303
    done = f"Purged {before} events (all audit history)."
    assert done in flash_texts(signed_in.get("/setup/docs").text)
    drain(runtime)  # the purge itself is recorded as a new event
    assert stored_types(runtime) == ["audit.purged"]


def test_a_bad_purge_value_changes_nothing(signed_in, runtime):
    emit(runtime, record())
    drain(runtime)
    response = post_form(
        signed_in, "/setup/audit/purge", {"older_than_days": "-1", "confirm": "on"}
    )
    assert response.status_code == 422
    assert len(stored_types(runtime)) == 1


def test_actor_and_target_columns_and_filters(signed_in, runtime, console_admin):
    user = str(console_admin.id)
    emit(
        runtime,
        record(EventType.ADMIN_USER_UPDATED, subject_user_id=user, actor_name="Ada Admin"),
        record(EventType.API_CALL, actor_type="app", actor_id="app-9", actor_name="Payroll Bot"),
    )
    drain(runtime)
    html = signed_in.get("/setup/audit").text
    assert "<th>Time</th><th>Actor</th><th>Target</th>" in html
    edit = next(r for r in audit_table(html).split("<tr") if "admin.user.updated" in r)
    actor, target = edit.split('class="actor">')[1], edit.split('class="target">')[1]
    assert actor.startswith('Ada Admin <span class="help block">administrator</span>')
    assert target.startswith(f'{console_admin.name} <span class="help block">user</span>')

    by_app = audit_table(signed_in.get("/setup/audit?actor_type=app").text)
    assert "api.call" in by_app and "admin.user.updated" not in by_app
    by_name = audit_table(signed_in.get("/setup/audit?actor=Payroll+Bot").text)
    assert "api.call" in by_name and "admin.user.updated" not in by_name
    users = audit_table(signed_in.get("/setup/audit?target_type=user").text)
    assert "admin.user.updated" in users and "api.call" not in users
    # An actor type the page does not offer filters nothing out, and breaks nothing.
    unknown = signed_in.get("/setup/audit?actor_type=robot")
    assert unknown.status_code == 200 and "api.call" in audit_table(unknown.text)

    query = "actor_type=admin&target_type=user"  # not the console's own sign-in
    export = signed_in.get(f"/setup/audit/export.csv?{query}").text.splitlines()
    header = export[0].split(",")
    assert {"actor_type", "actor_name", "target_type", "target_id", "target"} <= set(header)
    rows = [dict(zip(header, line.split(","), strict=False)) for line in export[1:]]
    assert [(r["event"], r["actor_name"], r["target"]) for r in rows] == [
        ("admin.user.updated", "Ada Admin", console_admin.name)
    ]
