"""The console's pages, one module per section of the seed."""

from fastapi import APIRouter

from console.pages.access import router as access
from console.pages.apidocs import router as apidocs
from console.pages.applications import router as applications
from console.pages.audit import router as audit
from console.pages.directory import router as directory
from console.pages.docs import router as docs
from console.pages.otp import router as otp
from console.pages.service_setup import router as service_setup
from console.pages.signin import router as signin
from console.pages.users import router as users

ROUTERS: list[APIRouter] = [
    signin,
    service_setup,
    applications,
    access,
    otp,
    directory,
    users,
    apidocs,
    docs,
    audit,
]
