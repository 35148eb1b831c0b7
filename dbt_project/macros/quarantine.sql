-- The rows a raw table's ingestion quarantined (raw.quarantined_rows, written by
-- orchestration/lib/quarantine.py in the load's own transaction), typed, with the key
-- column named as in the raw table: the body of each source's quarantine staging model.
-- kept_value is the `value_column` of the row stored for the same key and date (the raw
-- table's, joined here): a quarantined row whose date had a row stored earlier leaves that
-- row as it was -- the figures use it -- and a message says so; null: none is stored.
{% macro quarantined_rows_of(source_name, table_name, raw_table, key, stored_table,
                             value_column) -%}
select
    cast(q.symbol_or_series as string)   as {{ key }},
    cast(q.date as date)                 as date,
    cast(q.source as string)             as source,
    cast(q.file as string)               as file,
    cast(q.line as integer)              as line,
    cast(q.column_name as string)        as column_name,
    cast(q.raw_value as string)          as raw_value,
    cast(q.reason as string)             as reason,
    cast(q.applies_from as date)         as applies_from,
    cast(q.row_key as string)            as row_key,
    cast(q.quarantined_at as timestamp)  as quarantined_at,
    cast(q.last_seen_at as timestamp)    as last_seen_at,
    cast(q.resolved_at as timestamp)     as resolved_at,
    cast(q.resolution as string)         as resolution,
    q.resolved_at is null                as is_open,
    '{{ value_column }}'                 as kept_column,
    cast(k.{{ value_column }} as double) as kept_value
from {{ source(source_name, table_name) }} as q
left join {{ source(source_name, stored_table) }} as k
    on k.{{ key }} = q.symbol_or_series and k.date = q.date
where q.raw_table = '{{ raw_table }}'
{%- endmacro %}
