-- FRED observations converted once, here: money to billions of USD, rates stay in percent.
with observations as (
    select * from {{ source('fred', 'fred_observations') }}
    qualify row_number() over (partition by series_id, date order by ingested_at desc) = 1
),

series as (
    select * from {{ ref('stg_fred_series') }}
)

select
    cast(o.series_id as string)              as series_id,
    cast(o.date as date)                      as date,
    cast(o.value as double) * s.to_units_factor as value,
    s.units                                   as units,
    cast(o.value as double)                   as value_as_published,
    s.source_units                            as units_as_published,
    cast(o.source as string)                 as source,
    cast(o.ingested_at as timestamp)          as ingested_at
from observations as o
inner join series as s using (series_id)
where o.value is not null
