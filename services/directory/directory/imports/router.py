"""Placeholder router; filled in by the imports work."""

from fastapi import APIRouter

router = APIRouter()
