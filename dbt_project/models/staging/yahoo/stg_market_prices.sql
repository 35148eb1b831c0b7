-- Typed daily prices, one row per (symbol, date): raw.market_prices holds the latest version
-- of each bar (its primary key is (symbol, date); the versions a revision replaced are in
-- raw.market_prices_revisions), so nothing is left to deduplicate, and a filter on symbol or
-- date reaches the table (incremental builds read it that way).
with source as (
    select * from {{ source('yahoo', 'market_prices') }}
)

select
    cast(symbol as string)      as symbol,
    cast(date as date)           as date,
    cast(open as double)         as open,
    cast(high as double)         as high,
    cast(low as double)          as low,
    cast(close as double)        as close,
    cast(adj_close as double)    as adj_close,
    cast(volume as bigint)       as volume,
    cast(source as string)      as source,
    cast(ingested_at as timestamp) as ingested_at
from source
where close is not null
