"""nasx/supernet."""
