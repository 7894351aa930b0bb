"""The ledger's application layer: command handlers and read queries."""
