"""Stage 1: stack files on disk -> located documents (YAML, interpolation, .env, merge)."""
