"""Training: the learned tracking engine (torch, in the ``torch`` extra)."""
