"""Response bodies of the CSV user import."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ImportRowError(BaseModel):
    row: int = Field(description="Row number as a spreadsheet shows it; the header is row 1.")
    column: str = Field(description="The column at fault; empty when it is the whole row.")
    message: str


class ImportRowOutcome(BaseModel):
    """What one row would do (dry runs only)."""

    row: int = Field(description="Row number as a spreadsheet shows it; the header is row 1.")
    action: Literal["created", "updated", "unchanged", "rejected"]
    user: str = Field(description="The row's email address, else mobile number, else name.")
    reason: str = Field(
        description="Created: the applications it assigns; updated: the fields that change "
        "and applications added; rejected: every problem of the row."
    )


class ImportResult(BaseModel):
    """What an import did (or, with `dry_run`, would do)."""

    created: int
    updated: int
    unchanged: int
    assignments_added: int = Field(
        description="Assignments added from the `applications` column. "
        "An import only adds assignments; it never removes one."
    )
    errors: list[ImportRowError] = Field(
        default_factory=list,
        description="Always empty here: a file with any bad row is refused as a whole (422).",
    )
    ignored_columns: list[str] = Field(
        description="Columns in the file that the import does not read."
    )
    dry_run: bool
    rows: list[ImportRowOutcome] = Field(
        default_factory=list,
        description="With `dry_run=true`: each row's outcome in file order, the first 1000 "
        "rows (`rows_truncated` says there were more). Empty for a real import. A refused "
        "dry run (422) carries the same list beside `errors`.",
    )
    rows_truncated: bool = False
