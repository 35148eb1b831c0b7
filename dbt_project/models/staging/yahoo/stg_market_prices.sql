-- Typed, deduplicated daily prices. One row per (symbol, date); if the raw layer ever held
-- two, the most recently ingested wins.
with source as (
    select * from {{ source('yahoo', 'market_prices') }}
)

select
    cast(symbol as varchar)      as symbol,
    cast(date as date)           as date,
    cast(open as double)         as open,
    cast(high as double)         as high,
    cast(low as double)          as low,
    cast(close as double)        as close,
    cast(adj_close as double)    as adj_close,
    cast(volume as bigint)       as volume,
    cast(source as varchar)      as source,
    cast(ingested_at as timestamp) as ingested_at
from source
where close is not null
qualify row_number() over (partition by symbol, date order by ingested_at desc) = 1
