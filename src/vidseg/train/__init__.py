"""vidseg.train."""
