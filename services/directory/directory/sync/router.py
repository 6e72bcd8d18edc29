"""Placeholder router; filled in by the sync work."""

from fastapi import APIRouter

router = APIRouter()
