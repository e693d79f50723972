"""vidseg.cli."""
