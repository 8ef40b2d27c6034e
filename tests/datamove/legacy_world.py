"""Six legacy service databases with consistent, realistic and awkward data.

One `World` holds every row of every legacy table; ids are shared across services the way
the old services shared them (a profile stores its auth user's id, an application the
programme's id). Awkward values on purpose: NULLs, unicode (accents, CJK, Arabic, emoji),
tabs, newlines, backslashes and the literal text `\\N` (COPY's NULL marker), a 2 MB text,
timestamps written with several UTC offsets, `infinity`, naive local timestamps, IPv6.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

SERVICES = ("auth", "institution", "user", "notification", "application", "internship")
DDL = Path(__file__).with_name("legacy_schema.sql")

Row = dict[str, Any]

AWKWARD = "tab\there, newline\nthere, backslash \\ and \\N, quote ' \" and CR\r end"
UNICODE_NAMES = [
    ("Zoë", "Ngũgĩ"),
    ("李", "小龙"),
    ("محمد", "الأمين"),
    ("Łukasz", "Żółć"),
    ("Amara", "O'Neil-Wanjiru"),
    ("Renée", "Müller 🎓"),
]
EAT = timezone(timedelta(hours=3))
IST = timezone(timedelta(hours=5, minutes=30))
PST = timezone(timedelta(hours=-8))


def sections() -> dict[str, str]:
    parts: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in DDL.read_text(encoding="utf-8").splitlines():
        if line.startswith("-- section:"):
            current = parts.setdefault(line.split(":", 1)[1].strip(), [])
        elif current is not None:
            current.append(line)
    return {name: "\n".join(lines) for name, lines in parts.items()}


@dataclass
class World:
    seed: int = 7
    tables: dict[str, dict[str, list[Row]]] = field(default_factory=dict)

    def rows(self, service: str, table: str) -> list[Row]:
        return self.tables.setdefault(service, {}).setdefault(table, [])


class _Gen:
    def __init__(self, seed: int) -> None:
        self.rnd = random.Random(seed)
        self.base = datetime(2021, 1, 4, 8, 30, 15, 123456, tzinfo=UTC)

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rnd.getrandbits(128), version=4)

    def when(self, days: float = 600) -> datetime:
        """A moment after the base date, written with one of several UTC offsets."""
        moment = self.base + timedelta(seconds=self.rnd.randrange(int(days * 86400)))
        return moment.astimezone(self.rnd.choice([UTC, EAT, IST, PST]))

    def hexdigest(self) -> str:
        return hashlib.sha256(str(self.rnd.random()).encode()).hexdigest()

    def pick(self, items: list[Any]) -> Any:
        return self.rnd.choice(items)

    def chance(self, p: float) -> bool:
        return self.rnd.random() < p


def build_world(seed: int = 7, users: int = 30) -> World:
    world = World(seed)
    g = _Gen(seed)
    _institution(world, g)
    _auth(world, g, users)
    _user(world, g)
    _notification(world, g)
    _application(world, g)
    _internship(world, g)
    _django(world, g)
    return world


def _django(world: World, g: _Gen) -> None:
    for service in SERVICES:
        world.rows(service, "django_migrations").append(
            {"app": service, "name": "0001_initial", "applied": g.when()}
        )
        world.rows(service, "django_session").append(
            {"session_key": g.hexdigest()[:40], "session_data": "e30=", "expire_date": g.when()}
        )


def _institution(world: World, g: _Gen) -> None:
    specs = [
        ("University of Nairobi", "uon", "University", "ke", "Nairobi"),
        ("Kenya Polytechnic — Kisumu", "kp-ksm", "Polytechnic", "KE", ""),
        ("Technical Institute of Eldoret", "TIE_01", "TVET", "", "Eldoret"),
    ]
    for index, (name, code, kind, country, city) in enumerate(specs):
        created = g.when(100)
        inst = {
            "id": g.uuid(),
            "name": f"  {name} " if index == 0 else name,
            "code": code,
            "kind": kind,
            "country": country,
            "city": city,
            "website": "https://uonbi.ac.ke" if index == 0 else "",
            "email": "Admissions@UoNbi.ac.ke" if index == 0 else "",
            "is_active": index != 2,
            "verified": index == 0,
            "logo": "logos/uon.png" if index == 0 else "",
            "created": created,
            "modified": created + timedelta(days=3),
        }
        world.rows("institution", "institutions_institution").append(inst)
        for d in range(2):
            dept = {
                "id": g.uuid(),
                "institution_id": inst["id"],
                "name": ["School of Computing", "Faculty of Engineering — Électrique"][d],
                "code": ["SCI", None][d] if index else ["SCI", ""][d],
                "is_active": True,
                "created": created,
                "modified": created,
            }
            world.rows("institution", "institutions_department").append(dept)
            for p in range(2 if d == 0 else 1):
                world.rows("institution", "institutions_programme").append(
                    {
                        "id": g.uuid(),
                        "institution_id": inst["id"],
                        "department_id": dept["id"],
                        "name": f"Programme {d}{p} ✓",
                        "code": f"P{index}{d}{p}",
                        "level": g.pick(["BACHELOR", "Diploma", "master", "DOCTORATE"]),
                        "duration_months": g.pick([None, 12, 48]),
                        "capacity": g.pick([None, 0, 120]),
                        "description": g.pick(["", AWKWARD, "Plain description."]),
                        "is_active": True,
                        "created": created,
                        "modified": created,
                    }
                )
        for r in range(2):
            world.rows("institution", "institutions_registrationcode").append(
                {
                    "id": g.uuid(),
                    "institution_id": inst["id"],
                    "code_hash": g.hexdigest(),
                    "label": [None, "Intake 2024 🎓"][r],
                    "role": ["student", "staff"][r],
                    "max_uses": [None, 50][r],
                    "times_used": [7, 50][r],
                    "expires": [None, created + timedelta(days=90)][r],
                    "revoked": [None, created + timedelta(days=10)][r],
                    "created_by_id": [None, g.uuid()][r],
                    "created": created,
                    "modified": created,
                }
            )
            world.rows("institution", "institutions_setting").append(
                {
                    "id": g.uuid(),
                    "institution_id": inst["id"],
                    "key": ["grading.scale", "intake.terms"][r],
                    "value": json.dumps(
                        [{"max": 4.0, "label": "GPA — 4 point"}, ["2024-jan", "2024-sep"]][r]
                    ),
                    "updated_by_id": [g.uuid(), None][r],
                    "created": created,
                    "modified": created,
                }
            )


def _auth(world: World, g: _Gen, count: int) -> None:
    users = world.rows("auth", "auth_user")
    for index in range(count):
        joined = g.when(300)
        verified = index % 3 != 0
        first, last = UNICODE_NAMES[index % len(UNICODE_NAMES)]
        email = f"User.{index}@Example.ORG" if index % 5 else f"  élodie.{index}@exämple.org "
        users.append(
            {
                "id": g.uuid(),
                "password": ""
                if index % 7 == 0
                else ("!unusable" if index % 11 == 0 else f"pbkdf2_sha256$600000${g.hexdigest()}"),
                "last_login": None if index % 4 == 0 else joined + timedelta(days=5),
                "is_superuser": index == 0,
                "username": f"user{index}",
                "first_name": first,
                "last_name": last,
                "email": email,
                "is_staff": index < 2,
                "is_active": index % 9 != 0,
                "date_joined": joined,
                "email_verified": verified,
                # a stale timestamp on an unverified account: the mapping clears it
                "email_verified_on": joined + timedelta(hours=2) if index % 2 == 0 else None,
                "failed_login_count": index % 4,
                "locked_until": datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
                if index == 5
                else None,
                "modified": joined + timedelta(days=30),
            }
        )
    ids = [u["id"] for u in users]
    for index in range(40):
        created = g.when()
        world.rows("auth", "accounts_session").append(
            {
                "id": g.uuid(),
                "user_id": ids[index % len(ids)],
                "session_key_hash": g.hexdigest(),
                "ip": ["", "10.0.0.1", "2001:db8::1", "192.168.1.20"][index % 4],
                "user_agent": ["", "Mozilla/5.0 (X11; Linux) ✓", AWKWARD][index % 3],
                "created": created,
                "last_activity": created + timedelta(minutes=5),
                "expires": created + timedelta(days=14),
                "revoked": created + timedelta(hours=1) if index % 5 == 0 else None,
            }
        )
    for index in range(10):
        created = g.when()
        world.rows("auth", "accounts_passwordresettoken").append(
            {
                "id": g.uuid(),
                "user_id": ids[index],
                "token_hash": g.hexdigest(),
                "requested_ip": [None, "10.1.2.3", "::1"][index % 3],
                "created": created,
                "expires": created + timedelta(hours=1),
                "used": created + timedelta(minutes=9) if index % 2 else None,
            }
        )
        world.rows("auth", "accounts_emailverification").append(
            {
                "id": g.uuid(),
                "user_id": ids[index],
                "email": f" New.Address{index}@Example.org",
                "token_hash": g.hexdigest(),
                "created": created,
                "expires": created + timedelta(days=2),
                "used": None if index % 3 else created + timedelta(hours=3),
            }
        )
    providers = ["google-oauth2", "azuread-oauth2", "github", "linkedin-oauth2"]
    for index in range(8):
        created = g.when()
        extra: dict[str, Any] = {"email": f"Social{index}@Gmail.com"}
        if index % 2 == 0:
            extra |= {
                "access_token_enc": f"enc:{g.hexdigest()}",
                "refresh_token_enc": f"enc:{g.hexdigest()}",
                "expires_at": 1735689600 + index,
                "scope": "openid email profile",
            }
        world.rows("auth", "social_auth_usersocialauth").append(
            {
                "provider": providers[index % 4],
                "uid": f"{index}-{g.hexdigest()[:12]}",
                "user_id": ids[index],
                "extra_data": json.dumps(extra),
                "created": created,
                "modified": created,
            }
        )
    events = ["LOGIN_SUCCEEDED", "login_failed", "Password_Changed", "account_locked", "logout"]
    for index in range(60):
        world.rows("auth", "accounts_securityevent").append(
            {
                "id": g.uuid(),
                "user_id": None if index % 6 == 0 else ids[index % len(ids)],
                "event": events[index % len(events)],
                "level": ["INFO", "Warning", "critical"][index % 3],
                "ip_address": [None, "203.0.113.9", "2001:db8:85a3::8a2e:370:7334"][index % 3],
                "user_agent": [None, "curl/8.0", AWKWARD][index % 3],
                "details": ["", json.dumps({"attempt": index, "note": "ünïcödé ✓"}), "{}"][
                    index % 3
                ],
                # naive local time (Africa/Nairobi)
                "created": datetime(2022, 3, 27, 1, 30) + timedelta(hours=index * 7),
            }
        )


def _user(world: World, g: _Gen) -> None:
    users = world.rows("auth", "auth_user")
    institutions = world.rows("institution", "institutions_institution")
    programmes = world.rows("institution", "institutions_programme")
    profiles = world.rows("user", "profiles_userprofile")
    for index, account in enumerate(users[:25]):
        kind = ["STUDENT", "STUDENT", "EMPLOYER", "STAFF"][index % 4]
        created = account["date_joined"] + timedelta(minutes=1)
        deleted = index % 10 == 9
        profiles.append(
            {
                "id": g.uuid(),
                "user_id": account["id"],
                "first_name": f" {account['first_name']}",
                "last_name": account["last_name"],
                "display_name": ["", f"{account['first_name']} ✨", "   "][index % 3],
                "user_type": kind,
                "institution_id": institutions[index % 3]["id"]
                if kind in ("STAFF", "STUDENT")
                else None,
                "company": "Safaricom PLC" if kind == "EMPLOYER" else "",
                "job_title": "Talent lead" if kind == "EMPLOYER" else "",
                "bio": ("Lorem ipsum dolor sit amet — ünïcödé ✓ 🚀\n" * 50_000)
                if index == 1
                else ("" if index % 2 else AWKWARD),
                "avatar": "" if index % 3 else f"avatars/{index}.png",
                "dob": None if index % 4 == 2 else date(1901, 1, 2) + timedelta(days=index * 1000),
                "is_deleted": deleted,
                "deleted_on": created + timedelta(days=40) if index == 9 else None,
                "created": created,
                "modified": created + timedelta(days=60),
            }
        )
    students = [p for p in profiles if p["user_type"] == "STUDENT"]
    for index, profile in enumerate(students):
        programme = programmes[index % len(programmes)]
        start = date(2020, 9, 1)
        world.rows("user", "profiles_academicrecord").append(
            {
                "id": g.uuid(),
                "profile_id": profile["id"],
                "institution_id": programme["institution_id"],
                "programme_id": programme["id"] if index % 5 else None,
                "student_number": [None, f"SN/{index:05d}", " "][index % 3],
                "status": ["Enrolled", "GRADUATED", "on_leave"][index % 3],
                "year_of_study": [None, 1, 4][index % 3],
                "start_date": start,
                "expected_graduation": date(2024, 7, 1),
                "graduation_date": date(2024, 7, 15) if index % 3 == 1 else None,
                "gpa": [None, Decimal("3.85"), Decimal("4.00")][index % 3],
                "gpa_scale": [None, Decimal("4.00"), Decimal("4.00")][index % 3],
                "created": profile["created"],
                "modified": profile["modified"],
            }
        )
    for index, profile in enumerate(profiles):
        for c, (kind, value) in enumerate(
            [("EMAIL", f"contact{index}@example.org"), ("Mobile", f" +254 7{index:08d} ")]
        ):
            world.rows("user", "profiles_contact").append(
                {
                    "id": g.uuid(),
                    "profile_id": profile["id"],
                    "kind": kind,
                    "label": ["", "Work ☎"][c],
                    "value": value,
                    "is_primary": c == 0,
                    "verified": index % 2 == 0,
                    "created": profile["created"],
                    "modified": profile["modified"],
                }
            )
        world.rows("user", "profiles_preference").append(
            {
                "id": g.uuid(),
                "profile_id": profile["id"],
                "language": ["en", "sw-KE", "fr"][index % 3],
                "tz": ["Africa/Nairobi", "UTC", "Asia/Kolkata"][index % 3],
                "theme": ["light", "dark", "system"][index % 3],
                "visibility": ["public", "institution", "private"][index % 3],
                "show_email": index % 2 == 0,
                "show_phone": False,
                "open_to_work": index % 3 != 0,
                "created": profile["created"],
                "modified": profile["modified"],
            }
        )
        world.rows("user", "profiles_profilehistory").append(
            {
                "id": g.uuid(),
                "profile_id": profile["id"],
                "change_type": ["CREATED", "Updated", "role_changed"][index % 3],
                "changed_fields": ["", "first_name,bio", "user_type"][index % 3],
                "old_values": [None, json.dumps({"bio": AWKWARD}), json.dumps({"role": "x"})][
                    index % 3
                ],
                "new_values": [None, json.dumps({"bio": "ok ✓"}), "{}"][index % 3],
                "changed_by_id": [None, users[0]["id"], g.uuid()][index % 3],
                "created": profile["created"] + timedelta(days=1),
            }
        )


def _notification(world: World, g: _Gen) -> None:
    users = world.rows("auth", "auth_user")
    channels = world.rows("notification", "notifications_channel")
    for index, code in enumerate(["email", "sms", "push", "in_app"]):
        created = g.when(10)
        channels.append(
            {
                "id": g.uuid(),
                "code": code,
                "name": ["E-mail", "SMS ✉", "Push", "In-app"][index],
                "provider": ["sendgrid", "africastalking", "", ""][index],
                "enabled": index != 2,
                "config": json.dumps({"from": "no-reply@edulink.ke"} if index == 0 else {}),
                "created": created,
                "modified": created,
            }
        )
    templates = world.rows("notification", "notifications_template")
    for index in range(6):
        created = g.when(10)
        templates.append(
            {
                "id": g.uuid(),
                "channel_id": channels[index % 2]["id"],
                "key": ["account.welcome", "application.submitted", "security.reset"][index % 3],
                "locale": ["en", "sw"][index // 3],
                "category": ["account", "application", "security"][index % 3],
                "subject": ["Karibu {{name}} 🎉", "", "Reset"][index % 3],
                "body": f"Hello {{{{name}}}},\n{AWKWARD}",
                "version": 1 + index % 2,
                "is_active": True,
                "created": created,
                "modified": created,
            }
        )
    notifications = world.rows("notification", "notifications_notification")
    for index in range(40):
        created = g.when()
        status = ["PENDING", "SENT", "Failed", "cancelled"][index % 4]
        attempts = [0, 1, 5, 2][index % 4]
        notifications.append(
            {
                "id": g.uuid(),
                "user_id": users[index % len(users)]["id"],
                "channel_id": channels[index % 4]["id"],
                "template_id": templates[index % 6]["id"] if index % 3 else None,
                "subject": None if index % 3 else "Direct ✓",
                "body": None if index % 3 else AWKWARD,
                "context": json.dumps({"name": "Zoë", "n": index}),
                "priority": index % 10,
                "status": status,
                "attempts": attempts,
                "max_attempts": 5,
                "send_after": created,
                "locked_at": created + timedelta(seconds=3) if status == "SENT" else None,
                "sent_at": created + timedelta(seconds=4) if status == "SENT" else None,
                "last_error": "SMTP 421 — try later" if status == "Failed" else "",
                "source_app": ["application", None][index % 2],
                "source_id": g.uuid() if index % 2 == 0 else None,
                "created": created,
                "modified": created,
            }
        )
    for index in range(50):
        note = notifications[index % len(notifications)]
        world.rows("notification", "notifications_deliverylog").append(
            {
                "id": g.uuid(),
                "notification_id": note["id"] if index % 5 else None,
                "user_id": note["user_id"] if index % 4 else None,
                "channel_id": note["channel_id"],
                "template_id": note["template_id"],
                "status": ["SENT", "delivered", "Bounced", "failed"][index % 4],
                "provider_message_id": f"msg-{index}" if index % 2 else None,
                "error": AWKWARD if index % 4 == 3 else None,
                "occurred": note["created"] + timedelta(seconds=10),
                "created": note["created"] + timedelta(seconds=11),
            }
        )
    for index in range(30):
        world.rows("notification", "notifications_preference").append(
            {
                "id": g.uuid(),
                "user_id": users[index % len(users)]["id"],
                "channel_id": channels[index % 4]["id"],
                "category": ["account", "marketing", "security"][index % 3],
                "enabled": index % 2 == 0,
                "frequency": ["immediate", "daily_digest", "weekly_digest"][index % 3],
                "quiet_start": time(22, 0) if index % 2 else None,
                "quiet_end": time(6, 30, 15, 500000) if index % 2 else None,
                "created": g.when(),
                "modified": g.when(),
            }
        )


def _application(world: World, g: _Gen) -> None:
    profiles = world.rows("user", "profiles_userprofile")
    programmes = world.rows("institution", "institutions_programme")
    students = [p for p in profiles if p["user_type"] == "STUDENT"]
    staff = [p for p in profiles if p["user_type"] == "STAFF"]
    applications = world.rows("application", "applications_application")
    statuses = ["DRAFT", "Submitted", "under_review", "OFFERED", "rejected"]
    for index in range(20):
        created = g.when()
        status = statuses[index % len(statuses)]
        submitted = None if status == "DRAFT" else created + timedelta(days=1)
        decided = submitted + timedelta(days=20) if status in ("OFFERED", "rejected") else None
        applications.append(
            {
                "id": g.uuid(),
                "applicant_id": students[index % len(students)]["id"],
                "programme_id": programmes[index // len(students)]["id"],
                "status": status,
                "intake": [None, "2024-SEP", "2025-jan_1"][index % 3],
                "statement": ("Statement ✓ " * 180_000) if index == 2 else ["", AWKWARD][index % 2],
                "submitted": submitted,
                "decided": decided,
                "decision_notes": "Well done 👏" if decided else "",
                "created": created,
                "modified": created,
            }
        )
    for index in range(30):
        app = applications[index % len(applications)]
        world.rows("application", "applications_document").append(
            {
                "id": g.uuid(),
                "application_id": app["id"],
                "doc_type": ["transcript", "cv", "other"][index % 3],
                "file_name": ["transcript.pdf", "CV — Zoë.pdf", "scan 01.png"][index % 3],
                "file": f"applications/{app['id']}/{index}",
                "content_type": ["application/pdf", "image/png"][index % 2],
                "size": [1, 2_147_483_648_000, 52_311][index % 3],
                "sha256": [None, g.hexdigest().upper(), g.hexdigest()][index % 3],
                "review_status": ["pending", "accepted", "rejected"][index % 3],
                "created": app["created"],
                "modified": app["created"],
            }
        )
    for index, app in enumerate(applications):
        previous = None
        for step, new in enumerate(["DRAFT", app["status"]]):
            if new == previous:
                continue
            world.rows("application", "applications_statuschange").append(
                {
                    "id": g.uuid(),
                    "application_id": app["id"],
                    "old_status": previous,
                    "new_status": new,
                    "changed_by_id": staff[index % len(staff)]["id"] if step else None,
                    "reason": "" if step == 0 else AWKWARD,
                    "created": app["created"] + timedelta(hours=step),
                }
            )
            previous = new
    for index, app in enumerate(applications[:15]):
        submitted = app["created"] + timedelta(days=3) if index % 2 else None
        world.rows("application", "applications_review").append(
            {
                "id": g.uuid(),
                "application_id": app["id"],
                "reviewer_id": staff[index % len(staff)]["id"],
                "score": [None, Decimal("100.00"), Decimal("0.00"), Decimal("67.50")][index % 4],
                "recommendation": "ACCEPT" if submitted else [None, "neutral"][index % 2],
                "comments": ["", AWKWARD][index % 2],
                "submitted": submitted,
                "created": app["created"],
                "modified": app["created"],
            }
        )


def _internship(world: World, g: _Gen) -> None:
    profiles = world.rows("user", "profiles_userprofile")
    institutions = world.rows("institution", "institutions_institution")
    employers = [p for p in profiles if p["user_type"] == "EMPLOYER"]
    students = [p for p in profiles if p["user_type"] == "STUDENT"]
    staff = [p for p in profiles if p["user_type"] == "STAFF"]
    postings = world.rows("internship", "internships_posting")
    for index in range(8):
        created = g.when()
        status = ["DRAFT", "open", "Closed", "filled"][index % 4]
        start = date(2024, 6, 1) + timedelta(days=index)
        postings.append(
            {
                "id": g.uuid(),
                "employer_id": employers[index % len(employers)]["id"],
                "partner_institution_id": institutions[index % 3]["id"] if index % 2 else None,
                "title": f" Software intern #{index} ✓",
                "description": AWKWARD,
                "company": "Safaricom PLC",
                "location": ["", "Nairobi, Kenya"][index % 2],
                "mode": ["ONSITE", "remote", "Hybrid"][index % 3],
                "start_date": start,
                "end_date": start + timedelta(days=90),
                "deadline": start - timedelta(days=14),
                "slots": 1 + index,
                "stipend": [None, Decimal("0.00"), Decimal("9999999999.99")][index % 3],
                "currency": [None, "kes", "USD"][index % 3],
                "status": status,
                "published": None if status == "DRAFT" else created,
                "created": created,
                "modified": created,
            }
        )
    applications = world.rows("internship", "internships_application")
    for index in range(15):
        posting = postings[index % len(postings)]
        submitted = posting["created"] + timedelta(days=2)
        status = ["SUBMITTED", "accepted", "Completed", "rejected"][index % 4]
        applications.append(
            {
                "id": g.uuid(),
                "posting_id": posting["id"],
                "student_id": students[(index + index // len(postings)) % len(students)]["id"],
                "status": status,
                "cover_letter": ["", AWKWARD][index % 2],
                "resume": ["", "resumes/a.pdf"][index % 2],
                "submitted": submitted,
                "decided": None if status == "SUBMITTED" else submitted + timedelta(days=5),
                "decision_notes": "",
                "created": submitted,
                "modified": submitted,
            }
        )
    for index in range(20):
        app = applications[index % len(applications)]
        week = date(2024, 6, 3) + timedelta(weeks=index // len(applications))
        status = ["draft", "SUBMITTED", "approved"][index % 3]
        submitted = None if status == "draft" else app["created"] + timedelta(days=9)
        world.rows("internship", "internships_logbook").append(
            {
                "id": g.uuid(),
                "application_id": app["id"],
                "week_start": week,
                "week_end": week + timedelta(days=4),
                "hours": [Decimal("0"), Decimal("37.50"), Decimal("120.00")][index % 3],
                "activities": ["", AWKWARD][index % 2],
                "learning": "",
                "supervisor_comment": "Bien joué ✓" if index % 2 else "",
                "status": status,
                "submitted": submitted,
                "approved": submitted + timedelta(days=1) if status == "approved" else None,
                "created": app["created"],
                "modified": app["created"],
            }
        )
    for index in range(12):
        app = applications[index % len(applications)]
        rating = [None, 1, 5, 3][index % 4]
        world.rows("internship", "internships_evaluation").append(
            {
                "id": g.uuid(),
                "application_id": app["id"],
                "evaluator_id": staff[index % len(staff)]["id"],
                "evaluator_role": ["STAFF", "Employer"][index % 2].replace(
                    "STAFF", "institution_staff"
                ),
                "kind": ["MIDTERM", "final"][index // len(applications)],
                "rating": rating,
                "criteria": json.dumps({"teamwork": 4, "ünïcödé": [1, 2]} if rating else {}),
                "strengths": ["", AWKWARD][index % 2],
                "improvements": "",
                "comments": "",
                "submitted": app["created"] + timedelta(days=30) if rating else None,
                "created": app["created"],
                "modified": app["created"],
            }
        )


# Values Python cannot hold, written after the rows.
AFTER_LOAD = {
    "auth": "UPDATE auth_user SET locked_until = 'infinity' WHERE username = 'user3'",
}


def load_legacy(dsn: str, service: str, world: World) -> None:
    """Create the service's legacy tables in the database at `dsn` and fill them."""
    ddl = sections()
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(ddl["common"].encode())
        conn.execute(ddl[service].encode())
        with conn.transaction():
            for table, rows in world.tables.get(service, {}).items():
                if not rows:
                    continue
                columns = list(rows[0])
                statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
                    sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
                )
                with conn.cursor().copy(statement) as copy:
                    for row in rows:
                        copy.write_row([row[c] for c in columns])
            if service in AFTER_LOAD:
                conn.execute(AFTER_LOAD[service].encode())
