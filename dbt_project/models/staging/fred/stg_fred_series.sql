-- The FRED series of the catalog, with the unit staging converts to and the factor that
-- turns FRED's unit into it (var fred_units, dbt_project.yml). A unit the var does not
-- declare gets null here, which the not-null test on units and to_units_factor refuses.
{%- set units = var('fred_units') %}
select
    cast(series_id as string) as series_id,
    cast(name as string)      as series_name,
    cast(units as string)     as source_units,
    cast(frequency as string) as frequency,
    case units
        {%- for unit, spec in units.items() %}
        when '{{ unit }}' then '{{ spec.converts_to }}'
        {%- endfor %}
    end                        as units,
    case units
        {%- for unit, spec in units.items() %}
        when '{{ unit }}' then 1.0 / {{ spec.divide_by }}
        {%- endfor %}
    end                        as to_units_factor
from {{ source('fred', 'fred_series') }}
