-- The brief's quarantined rows: a row of an instrument or FRED series that a load
-- quarantined (raw.quarantined_rows: a cell that is not a number, a price that is not
-- positive, two rows for one date, ...) and no later load resolved, on every day from its
-- date on (applies_from; every day when its date cannot be read or lies in the future):
-- the brief's figures are computed without it -- or, when a row of its date was stored
-- before (kept_value), with that stored row, kept as it was. Grain: (brief_date, subject,
-- quarantine_rank).
-- Incremental from the first date whose inputs changed (dbt_project.yml, the brief folder).
with quarantine as (
    select symbol as subject, date, column_name, raw_value, reason, applies_from, row_key,
           source, file, line, kept_column, kept_value
    from {{ ref('stg_market_prices_quarantined') }}
    where is_open
    union all
    select series_id, date, column_name, raw_value, reason, applies_from, row_key, source,
           file, line, kept_column, kept_value
    from {{ ref('stg_fred_observations_quarantined') }}
    where is_open
),

quarantine_ranked as (
    select
        *,
        row_number() over (
            partition by subject order by date nulls first, column_name, reason, row_key
        ) as quarantine_rank
    from quarantine
),

brief_dates as (
    {{ brief_dates() }}
)

select
    d.brief_date,
    q.subject,
    cast(q.quarantine_rank as integer)                      as quarantine_rank,
    coalesce(i.instrument_name, s.series_name, q.subject)  as subject_name,
    q.applies_from,
    q.date                                                  as quarantined_date,
    q.column_name                                           as quarantined_column,
    q.raw_value                                             as quarantined_value,
    q.reason                                                as quarantine_reason,
    q.file                                                  as quarantined_file,
    q.line                                                  as quarantined_line,
    q.kept_column                                           as quarantine_kept_column,
    q.kept_value                                            as quarantine_kept_value,
    q.source,
    q.source = 'demo'                                       as is_synthetic
from quarantine_ranked as q
inner join brief_dates as d
    on q.applies_from is null or d.brief_date >= q.applies_from
left join {{ ref('stg_instruments') }} as i on i.symbol = q.subject
left join {{ ref('stg_fred_series') }} as s on s.series_id = q.subject
