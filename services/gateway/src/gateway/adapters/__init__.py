"""The gateway's adapters: credential table, password hashing, keys, policy file, upstream HTTP."""
