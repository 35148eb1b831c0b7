-- The FRED series of the catalog, with the factor that turns FRED's unit into ours.
{%- set factors = var('units_to_billions') %}
select
    cast(series_id as varchar) as series_id,
    cast(name as varchar)      as series_name,
    cast(units as varchar)     as source_units,
    cast(frequency as varchar) as frequency,
    case
        when units = 'percent' then 'percent'
        else 'billions_usd'
    end                        as units,
    case units
        {%- for unit, factor in factors.items() %}
        when '{{ unit }}' then 1.0 / {{ factor }}
        {%- endfor %}
        when 'percent' then 1.0
    end                        as to_units_factor
from {{ source('raw', 'fred_series') }}
