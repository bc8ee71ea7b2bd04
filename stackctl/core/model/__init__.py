"""Stage 2: the typed frozen Stack (short syntax parsed here) and the comparable cluster state."""
