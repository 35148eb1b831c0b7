"""Federal Reserve series from FRED (fredapi): raw.fred_observations, raw.fred_series."""
