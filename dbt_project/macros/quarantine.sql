-- The rows a raw table's ingestion quarantined (raw.quarantined_rows, written by
-- orchestration/lib/quarantine.py in the load's own transaction), typed, with the key
-- column named as in the raw table: the body of each source's quarantine staging model.
{% macro quarantined_rows_of(source_name, table_name, raw_table, key) -%}
select
    cast(symbol_or_series as string)  as {{ key }},
    cast(date as date)                 as date,
    cast(source as string)            as source,
    cast(file as string)              as file,
    cast(line as integer)              as line,
    cast(column_name as string)       as column_name,
    cast(raw_value as string)         as raw_value,
    cast(reason as string)            as reason,
    cast(applies_from as date)         as applies_from,
    cast(row_key as string)           as row_key,
    cast(quarantined_at as timestamp)  as quarantined_at,
    cast(last_seen_at as timestamp)    as last_seen_at,
    cast(resolved_at as timestamp)     as resolved_at,
    cast(resolution as string)        as resolution,
    resolved_at is null                as is_open
from {{ source(source_name, table_name) }}
where raw_table = '{{ raw_table }}'
{%- endmacro %}
