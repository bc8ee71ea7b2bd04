"""Stage 3: schema, semantic checks and lint over the merged document."""
