"""vidseg.eval."""
