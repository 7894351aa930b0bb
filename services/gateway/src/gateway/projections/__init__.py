"""The gateway's read models, built from the event topics like every service's."""
