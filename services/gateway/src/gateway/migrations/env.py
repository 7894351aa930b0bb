"""Alembic environment of the gateway: the kernel's, run programmatically."""

from shared_kernel.migrations import run_env

run_env()
