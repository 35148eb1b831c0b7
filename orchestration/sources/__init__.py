"""Source clients. `LOCKSTEP_SOURCE` picks one; there is never a fallback to another."""

from __future__ import annotations

from orchestration.catalog import load_catalog
from orchestration.settings import Settings
from orchestration.sources.base import FetchResult, SourceError
from orchestration.sources.files import FilesSource, is_synthetic_dir

__all__ = ["FetchResult", "SourceError", "market_source", "fred_source"]


def _files_source(settings: Settings) -> FilesSource:
    if settings.source == "demo":
        if not is_synthetic_dir(settings.demo_dir):
            from orchestration.sources.demo import generate_demo_data

            generate_demo_data(settings.demo_dir, load_catalog())
        return FilesSource(settings.demo_dir)
    assert settings.data_dir is not None  # load_settings enforces it for `files`
    return FilesSource(settings.data_dir)


def market_source(settings: Settings, session=None, timeout: float = 30.0, retry=None,
                  log=None):
    if settings.source == "live":
        from orchestration.sources.yahoo import YahooSource

        return YahooSource(cache_dir=settings.yfinance_cache_dir, session=session,
                           timeout=timeout, retry=retry, log=log)
    return _files_source(settings)


def fred_source(settings: Settings, root_url: str | None = None, timeout: float = 30.0,
                retry=None, log=None, requests_per_s: float = 2.0):
    if settings.source == "live":
        from orchestration.sources.fred import FredSource

        return FredSource(root_url=root_url, timeout=timeout, retry=retry, log=log,
                          requests_per_s=requests_per_s)
    return _files_source(settings)
