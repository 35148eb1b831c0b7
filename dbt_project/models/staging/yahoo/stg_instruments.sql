-- The market instruments of the catalog (orchestration/catalog.yaml).
select
    cast(symbol as string)      as symbol,
    cast(name as string)        as instrument_name,
    cast(asset_class as string) as asset_class,
    cast(calendar as string)    as trading_calendar,
    cast(history_note as string) as history_note,
    cast(display_order as integer) as display_order
from {{ source('yahoo', 'instruments') }}
