"""`POST /directory/users/import`: create and update users from a CSV file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Query, Request, UploadFile

from directory.imports import service
from directory.imports.schemas import ImportResult
from shared.admin_auth import CurrentAdmin
from shared.db import DbSession
from shared.errors import error_responses

router = APIRouter(prefix="/directory", tags=["users"])


@router.post(
    "/users/import",
    response_model=ImportResult,
    responses=error_responses(401, 403, 409, 413, 422),
)
def import_users(
    request: Request,
    db: DbSession,
    admin: CurrentAdmin,
    file: Annotated[UploadFile, File(description="The CSV file")],
    dry_run: Annotated[bool, Query(description="Check only; write nothing")] = False,
    allow_admin: Annotated[bool, Query(description="Honour the is_admin column")] = False,
) -> ImportResult:
    """Import users from a CSV file (all rows or none).

    A header row names the columns: `name`, `email`, `mobile_number`, `emp_id`,
    `applications` (application names separated by `;`) and `is_admin` (read only
    with `allow_admin=true`). `name` and at least one of `email`/`mobile_number`
    are required; other columns are ignored and listed in `ignored_columns`.
    UTF-8 (a byte-order mark is fine); comma-, semicolon- or tab-separated.

    A row updates the user with its email address, else with its mobile number,
    and creates a user otherwise. An empty cell keeps the stored value.
    Applications are added to a user's assignments; an import never removes one.

    All or nothing: if any row is wrong, nothing is written and the answer is 422
    `import_invalid` with `errors: [{row, column, message}]` (the header is row 1).
    `dry_run=true` checks the file and reports the same counts without writing, and
    lists each row's outcome in `rows` (`created`, `updated`, `unchanged` or `rejected`,
    with the reason; the first 1000 rows), also in a refused dry run's 422 answer.
    """
    return service.import_users(
        db,
        request.app.state.runtime,
        admin,
        file.file,
        filename=file.filename,
        dry_run=dry_run,
        allow_admin=allow_admin,
    )
