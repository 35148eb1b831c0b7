"""Synthetic demo data, generated into a files directory (LOCKSTEP_SOURCE=demo)."""
