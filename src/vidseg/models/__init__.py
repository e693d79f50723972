"""vidseg.models."""
