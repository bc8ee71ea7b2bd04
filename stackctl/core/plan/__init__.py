"""Stage 5: desired vs live -> Plan (diff, effects, saved plans)."""
