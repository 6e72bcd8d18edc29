"""First pass of an import: check every row, and decide what each valid row will do.

Rows are checked on their own (the same rules as the users API), against the
rest of the file (an email, mobile number or employee ID may appear once) and
against the directory, looked up a batch of rows at a time. Only the keys
needed for the in-file checks are kept; the decided changes are written to a
spool file that the second pass reads back.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import IO

import orjson
from sqlalchemy.orm import Session

from directory.imports import repository
from directory.imports.reader import CsvUpload
from directory.imports.repository import ExistingUser
from directory.imports.schemas import ImportRowError, ImportRowOutcome
from directory.users.schemas import CONTROL_CHARACTERS, CONTROL_MESSAGE
from directory.users.service import ContactRequired, normalize_contact_fields
from shared.errors import Unprocessable

BATCH = 1000
MAX_REPORTED_ERRORS = 1000
MAX_PREVIEW_ROWS = 1000
LIMITS = {"name": 200, "email": 254, "mobile_number": 32, "emp_id": 64}
LABELS = {"email": "email address", "mobile_number": "mobile number", "emp_id": "employee ID"}
CHANGE_LABELS = {**LABELS, "is_admin": "administrator"}
TRUE, FALSE = {"true", "yes", "y", "1"}, {"false", "no", "n", "0", ""}


@dataclass(slots=True)
class Draft:
    """One row that passed its own checks, normalised."""

    row: int
    name: str
    email: str | None
    mobile_number: str | None
    emp_id: str | None
    is_admin: bool | None  # None: the file does not set it
    app_ids: set[uuid.UUID]


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    assignments_added: int = 0
    errors: list[ImportRowError] = field(default_factory=list)
    error_count: int = 0
    # Dry runs only: row -> what it would do, for the first MAX_PREVIEW_ROWS rows decided.
    preview: dict[int, ImportRowOutcome] | None = None
    preview_truncated: bool = False

    def fail(self, row: int, column: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_REPORTED_ERRORS:
            self.errors.append(ImportRowError(row=row, column=column, message=message))
        self.note(
            row, "rejected", f"{LABELS.get(column, column)}: {message}" if column else message
        )

    def note(self, row: int, action: str, reason: str, user: str = "") -> None:
        if self.preview is None:
            return
        known = self.preview.get(row)
        if known is not None:  # another problem of a row already rejected
            known.reason = f"{known.reason} {reason}" if reason else known.reason
            known.user = known.user or user
        elif len(self.preview) < MAX_PREVIEW_ROWS:
            self.preview[row] = ImportRowOutcome.model_validate(
                {"row": row, "action": action, "user": user, "reason": reason}
            )
        else:
            self.preview_truncated = True

    def preview_rows(self) -> list[ImportRowOutcome]:
        return sorted((self.preview or {}).values(), key=lambda r: r.row)


class ImportCheck:
    def __init__(
        self,
        session: Session,
        *,
        default_region: str,
        allow_admin: bool,
        admin_id: uuid.UUID,
        spool: IO[bytes] | None,
        preview: bool = False,
    ) -> None:
        self.session = session
        self.region = default_region
        self.allow_admin = allow_admin
        self.admin_id = admin_id
        self.spool = spool
        self.apps = repository.application_ids_by_name(session)
        self.outcome = Outcome(preview={} if preview else None)
        self.app_names = repository.application_names(session) if preview else {}
        # Value -> first row holding it (employee IDs compare as MariaDB does: case-insensitively).
        self.seen: dict[str, dict[str, int]] = {column: {} for column in LABELS}
        self.touched: dict[uuid.UUID, int] = {}

    def run(self, upload: CsvUpload) -> Outcome:
        batch: list[Draft] = []
        for row, cells in upload.rows():
            draft = self.check_row(upload, row, cells)
            if draft is not None:
                batch.append(draft)
            if len(batch) >= BATCH:
                self.resolve(batch)
                batch = []
        self.resolve(batch)
        return self.outcome

    def check_row(self, upload: CsvUpload, row: int, cells: list[str]) -> Draft | None:
        fail = self.outcome.fail
        errors_before = self.outcome.error_count
        if any(cell.strip() for cell in cells[upload.width :]):
            fail(row, "", "This row has more cells than the header row.")
        positions = upload.header.positions

        def cell(column: str) -> str:
            index = positions.get(column)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        values = {column: cell(column) for column in LIMITS}
        if not values["name"]:
            fail(row, "name", "A name is required.")
        for column in ("name", "emp_id"):
            if CONTROL_CHARACTERS.search(values[column]):
                fail(row, column, f"The value {CONTROL_MESSAGE}.")
        for column, limit in LIMITS.items():
            if len(values[column]) > limit:
                fail(row, column, f"Use at most {limit} characters.")
        contact: dict[str, str | None] = {}
        for column in LABELS:
            if len(values[column]) <= LIMITS[column]:
                contact[column] = self._normalise(row, column, values[column])
        if not values["email"] and not values["mobile_number"]:
            fail(row, "email", ContactRequired.message)
        is_admin = None
        if "is_admin" in positions:
            flag = cell("is_admin").lower()
            if flag not in TRUE | FALSE:
                fail(row, "is_admin", "Use true or false.")
            is_admin = flag in TRUE if flag else None
        app_ids = self._applications(row, cell("applications"))
        if self.outcome.error_count > errors_before:
            self.outcome.note(
                row, "rejected", "", values["email"] or values["mobile_number"] or values["name"]
            )
            return None
        return Draft(
            row=row,
            name=values["name"],
            email=contact["email"],
            mobile_number=contact["mobile_number"],
            emp_id=contact["emp_id"],
            is_admin=is_admin,
            app_ids=app_ids,
        )

    def _normalise(self, row: int, column: str, value: str) -> str | None:
        """The users API's rules; a bad value is reported and left out of the in-file checks."""
        try:
            normalised = normalize_contact_fields({column: value}, self.region)[column]
        except Unprocessable as exc:
            self.outcome.fail(row, column, exc.message)
            return None
        if normalised:
            self._check_unique_in_file(row, column, normalised)
        return normalised or None

    def _applications(self, row: int, text: str) -> set[uuid.UUID]:
        names = [name.strip() for name in text.split(";") if name.strip()]
        unknown = [name for name in names if name.casefold() not in self.apps]
        if unknown:
            message = "Unknown application: " + ", ".join(unknown) + "."
            self.outcome.fail(row, "applications", message)
        return {self.apps[name.casefold()] for name in names if name.casefold() in self.apps}

    def _check_unique_in_file(self, row: int, column: str, value: str | None) -> None:
        if not value:
            return
        first = self.seen[column].setdefault(value.casefold(), row)
        if first != row:
            self.outcome.fail(row, column, f"The same {LABELS[column]} is also in row {first}.")

    def resolve(self, batch: list[Draft]) -> None:
        """Match a batch of rows to existing users (by email, else mobile) and decide each."""
        if not batch:
            return
        wanted = {column: list({getattr(d, column) for d in batch} - {None}) for column in LABELS}
        found = repository.users_holding(self.session, wanted)
        owners = {
            column: {str(getattr(u, column)).casefold(): u for u in found if getattr(u, column)}
            for column in LABELS
        }
        matched: list[tuple[Draft, ExistingUser | None]] = []
        for draft in batch:
            ok, target = self._match(draft, owners)
            if ok:
                matched.append((draft, target))
            else:
                self.outcome.note(draft.row, "rejected", "", _who(draft))
        targets = [user.id for draft, user in matched if user is not None and draft.app_ids]
        assigned = repository.assignments_of(self.session, targets)
        for draft, user in matched:
            if user is None:
                self._plan_create(draft)
            else:
                self._plan_update(draft, user, assigned.get(user.id, set()))

    def _match(
        self, draft: Draft, owners: dict[str, dict[str, ExistingUser]]
    ) -> tuple[bool, ExistingUser | None]:
        """(row is consistent with the directory, the user it updates or None for a new one)."""

        def owner(column: str) -> ExistingUser | None:
            value = getattr(draft, column)
            return owners[column].get(value.casefold()) if value else None

        target = owner("email") or owner("mobile_number")
        ok = True
        for column in ("mobile_number", "emp_id"):
            holder = owner(column)
            if holder is not None and (target is None or holder.id != target.id):
                self.outcome.fail(
                    draft.row,
                    column,
                    f"This {LABELS[column]} belongs to another user ({holder.label}).",
                )
                ok = False
        if target is not None:
            first = self.touched.setdefault(target.id, draft.row)
            if first != draft.row:
                self.outcome.fail(draft.row, "", f"Row {first} already updates this user.")
                ok = False
            if self.allow_admin and target.id == self.admin_id and draft.is_admin is False:
                self.outcome.fail(
                    draft.row, "is_admin", "You cannot remove your own administrator access."
                )
                ok = False
        return ok, target

    def _assigns(self, app_ids: set[uuid.UUID]) -> str:
        names = sorted(self.app_names.get(a, str(a)) for a in app_ids)
        return "assigns " + ", ".join(names) if names else ""

    def _plan_create(self, draft: Draft) -> None:
        reason = "; ".join(filter(None, ["new user", self._assigns(draft.app_ids)]))
        self.outcome.note(draft.row, "created", reason, _who(draft))
        self.outcome.created += 1
        self.outcome.assignments_added += len(draft.app_ids)
        self._spool(
            {
                "op": "create",
                "name": draft.name,
                "email": draft.email,
                "mobile_number": draft.mobile_number,
                "emp_id": draft.emp_id,
                "is_admin": bool(draft.is_admin),
                "apps": [str(a) for a in draft.app_ids],
            }
        )

    def _plan_update(self, draft: Draft, user: ExistingUser, assigned: set[uuid.UUID]) -> None:
        # An empty cell keeps what the directory has: an import never erases data.
        after = {
            "name": draft.name,
            "email": draft.email or user.email,
            "mobile_number": draft.mobile_number or user.mobile_number,
            "emp_id": draft.emp_id or user.emp_id,
            "is_admin": user.is_admin if draft.is_admin is None else draft.is_admin,
        }
        before = {key: getattr(user, key) for key in after}
        new_apps = draft.app_ids - assigned
        if after == before and not new_apps:
            self.outcome.note(draft.row, "unchanged", "already as in the directory", _who(draft))
            self.outcome.unchanged += 1
            return
        changed = [CHANGE_LABELS.get(k, k) for k in after if after[k] != before[k]]
        parts = [", ".join(changed) + " changed" if changed else "", self._assigns(new_apps)]
        reason = "; ".join(filter(None, parts))
        self.outcome.note(draft.row, "updated", reason, _who(draft))
        self.outcome.updated += 1
        self.outcome.assignments_added += len(new_apps)
        self._spool(
            {
                "op": "update",
                "id": str(user.id),
                "fields_changed": after != before,
                "status": user.status,
                **after,
                "apps": [str(a) for a in new_apps],
            }
        )

    def _spool(self, item: dict[str, object]) -> None:
        if self.spool is not None and not self.outcome.error_count:
            self.spool.write(orjson.dumps(item) + b"\n")


def _who(draft: Draft) -> str:
    return draft.email or draft.mobile_number or draft.name
