-- The rows meant for raw.market_prices that failed validation, one per bad row the source
-- delivered (warehouse/README.md, "Quarantined rows"); is_open until a later load resolves it.
{{ quarantined_rows_of('yahoo', 'market_prices_quarantined', 'raw.market_prices', 'symbol',
                       'market_prices', 'close') }}
