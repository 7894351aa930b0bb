"""The gateway's use cases: register operators, log in, forward authorised requests."""
