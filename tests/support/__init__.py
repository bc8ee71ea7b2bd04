"""Helpers and builders shared by the tests (fixtures live in conftest.py files)."""
