"""Stage 4: Stack -> Engine API specs (pure; docker stack deploy parity)."""
