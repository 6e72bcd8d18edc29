"""Placeholder router; filled in by the keys work."""

from fastapi import APIRouter

router = APIRouter()
