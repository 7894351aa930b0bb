"""The services' common kernel: event envelope, event store, outbox relay, projections, identity."""
