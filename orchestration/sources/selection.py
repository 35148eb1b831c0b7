"""Which client brings the data: what LOCKSTEP_SOURCE means.

`live` is Yahoo (orchestration/sources/yahoo) for market prices and FRED
(orchestration/sources/fred) for Fed series. `files` reads LOCKSTEP_DATA_DIR and `demo` the
generated demo directory, both through the files source (orchestration/sources/files); the
demo directory is generated first when it is not there. There is never a fallback from one
to another.

Choosing lives here, not in a client, so the clients depend on nothing but themselves: the
demo generator writes the files source's layout (demo -> files), never the reverse.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the clients are imported when a step runs: the code location stays light
    from orchestration.settings import Settings
    from orchestration.sources.files.client import FilesSource


def market_source(settings: Settings, session=None, timeout: float = 30.0, retry=None,
                  log=None):
    """The client LOCKSTEP_SOURCE names for market prices."""
    if settings.source == "live":
        from orchestration.sources.yahoo.client import YahooSource

        return YahooSource(cache_dir=settings.yfinance_cache_dir, session=session,
                           timeout=timeout, retry=retry, log=log)
    return files_source(settings)


def fred_source(settings: Settings, root_url: str | None = None, timeout: float = 30.0,
                retry=None, log=None, requests_per_s: float = 2.0):
    """The client LOCKSTEP_SOURCE names for FRED series (live FRED raises SettingsError
    without FRED_API_KEY)."""
    if settings.source == "live":
        from orchestration.sources.fred.client import FredSource, require_api_key

        return FredSource(api_key=require_api_key(settings.fred_api_key), root_url=root_url,
                          timeout=timeout, retry=retry, log=log, requests_per_s=requests_per_s)
    return files_source(settings)


def files_source(settings: Settings) -> FilesSource:
    """The files source LOCKSTEP_SOURCE names: `files` reads LOCKSTEP_DATA_DIR; `demo` reads
    the generated demo directory, generating it first if it is not there (it is synthetic,
    and labelled so in every row and every place it surfaces)."""
    from orchestration.sources.files.client import FilesSource, is_synthetic_dir

    if settings.source == "demo":
        if not is_synthetic_dir(settings.demo_dir):
            from orchestration.catalog import load_catalog
            from orchestration.sources.demo.client import generate_demo_data

            generate_demo_data(settings.demo_dir, load_catalog())
        return FilesSource(settings.demo_dir)
    if settings.data_dir is None:  # load_settings enforces it for `files`
        raise ValueError("LOCKSTEP_SOURCE=files needs LOCKSTEP_DATA_DIR")
    return FilesSource(settings.data_dir)
