"""Fixtures for real PostgreSQL and Kafka come from the shared kernel."""

pytest_plugins = ["shared_kernel.testing"]
