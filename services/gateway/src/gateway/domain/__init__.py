"""The gateway's domain: operators and systems (with their API keys), their roles and
offices, and the access policy.

Pure Python: nothing here imports a web framework, a database driver or Kafka."""
