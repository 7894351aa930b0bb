"""Risk service: arrives with its own issue."""
