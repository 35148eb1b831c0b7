"""Local HTTP servers (127.0.0.1 only) that speak Yahoo's chart API and FRED's API."""
