"""A directory of CSV files standing in for Yahoo and FRED (LOCKSTEP_SOURCE=files)."""
