"""Market prices from Yahoo Finance (yfinance): raw.market_prices, raw.instruments."""
