"""Tickets service: arrives with its own issue."""
