-- The market instruments of the catalog (orchestration/catalog.yaml).
select
    cast(symbol as varchar)      as symbol,
    cast(name as varchar)        as instrument_name,
    cast(asset_class as varchar) as asset_class,
    cast(calendar as varchar)    as trading_calendar,
    cast(history_note as varchar) as history_note,
    cast(display_order as integer) as display_order
from {{ source('yahoo', 'instruments') }}
