"""Revision model: what is stored in the cluster per release."""
