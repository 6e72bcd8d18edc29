"""Placeholder router; filled in by the applications work."""

from fastapi import APIRouter

router = APIRouter()
