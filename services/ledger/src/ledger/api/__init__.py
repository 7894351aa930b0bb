"""The ledger's HTTP API: maps requests to commands and queries, domain errors to statuses."""
