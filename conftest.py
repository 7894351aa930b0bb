"""Fixtures for real PostgreSQL and Kafka come from the shared kernel; every test's tier (unit,
integration, e2e) comes from its directory."""

pytest_plugins = ["shared_kernel.testing", "shared_kernel.pytest_tiers", "pytester"]
