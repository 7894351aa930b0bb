"""The gateway's HTTP surface: log-in, the caller's identity, and the proxy to the services."""
