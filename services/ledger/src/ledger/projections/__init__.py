"""The ledger's read models, built from its event topic."""
