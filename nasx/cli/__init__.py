"""nasx/cli."""
