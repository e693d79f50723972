"""vidseg.segment."""
