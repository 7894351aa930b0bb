"""The ledger's adapters: what the application layer needs from PostgreSQL beyond the kernel."""
