# Thin wrapper: ./dev is the entry point (Debian 12 may have no make).
.PHONY: cluster demo test lint cluster-down help bench bench-quick
cluster demo test lint cluster-down help bench bench-quick:
	./dev $@
