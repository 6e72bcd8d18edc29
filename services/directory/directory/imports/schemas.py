"""Response bodies of the CSV user import."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ImportRowError(BaseModel):
    row: int = Field(description="Row number as a spreadsheet shows it; the header is row 1.")
    column: str = Field(description="The column at fault; empty when it is the whole row.")
    message: str


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
