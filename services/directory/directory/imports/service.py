"""Importing users from a CSV file: all rows or none.

Pass one reads the upload, checks every row and spools the decided changes;
pass two writes them in batches. Both run in the request's one transaction,
so a file with any bad row, or a write that fails half-way, changes nothing.
"""

from __future__ import annotations

import tempfile
from typing import Any, BinaryIO

from sqlalchemy.orm import Session

from directory.imports.reader import CsvUpload
from directory.imports.schemas import ImportResult
from directory.imports.validation import ImportCheck, Outcome
from directory.imports.writer import PlanWriter
from directory.trail import announce
from shared.admin_auth import AdminIdentity
from shared.admin_trail import record_admin_action
from shared.audit import EventType
from shared.errors import Unprocessable
from shared.invalidation import Topic
from shared.runtime import Runtime


class ImportInvalid(Unprocessable):
    code = "import_invalid"


def _refuse(outcome: Outcome, ignored_columns: list[str]) -> ImportInvalid:
    count = outcome.error_count
    preview: dict[str, Any] = {}
    if outcome.preview is not None:  # a dry run: every row's outcome beside the errors
        preview = {
            "rows": [r.model_dump() for r in outcome.preview_rows()],
            "rows_truncated": outcome.preview_truncated,
        }
    return ImportInvalid(
        f"{count} problem{'s' if count != 1 else ''} in the file; nothing was imported.",
        errors=[e.model_dump() for e in outcome.errors],
        error_count=count,
        ignored_columns=ignored_columns,
        **preview,
    )


def import_users(
    session: Session,
    runtime: Runtime,
    admin: AdminIdentity,
    upload: BinaryIO,
    *,
    filename: str | None,
    dry_run: bool,
    allow_admin: bool,
) -> ImportResult:
    settings = runtime.settings
    csv_file = CsvUpload(
        upload,
        max_bytes=settings.csv_max_bytes,
        max_rows=settings.csv_max_rows,
        allow_admin=allow_admin,
    )
    ignored = csv_file.header.ignored
    with tempfile.TemporaryFile() as spool:
        check = ImportCheck(
            session,
            default_region=settings.default_region,
            allow_admin=allow_admin,
            admin_id=admin.id,
            spool=None if dry_run else spool,
            preview=dry_run,
        )
        outcome = check.run(csv_file)
        if outcome.error_count:
            raise _refuse(outcome, ignored)
        result = ImportResult(
            created=outcome.created,
            updated=outcome.updated,
            unchanged=outcome.unchanged,
            assignments_added=outcome.assignments_added,
            ignored_columns=ignored,
            dry_run=dry_run,
            rows=outcome.preview_rows(),
            rows_truncated=outcome.preview_truncated,
        )
        if dry_run:
            return result
        written = outcome.created + outcome.updated
        if written:
            PlanWriter(session, written).write(spool)
    record_admin_action(
        session,
        runtime,
        admin,
        EventType.ADMIN_USERS_IMPORTED,
        details={
            "filename": (filename or "")[:255],
            "created": result.created,
            "updated": result.updated,
            "unchanged": result.unchanged,
            "assignments_added": result.assignments_added,
            "allow_admin": allow_admin,
        },
    )
    if written:
        announce(session, runtime, topics=(Topic.USERS,))
    return result
