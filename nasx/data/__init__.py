"""nasx/data."""
