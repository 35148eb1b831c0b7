-- The brief's records: an instrument set a record close or a record intraday high that day
-- (brief_date; not its first stored day, which is a record of nothing before it), with
-- the record before it and the gain over it. Grain: (brief_date, symbol, basis).
-- Incremental from the first date whose inputs changed (dbt_project.yml, the brief folder).
select
    r.date                                                  as brief_date,
    r.symbol,
    r.basis,
    i.display_order,
    i.instrument_name,
    r.value                                                 as record_value,
    r.previous_record_value,
    r.previous_record_date,
    r.gain_over_previous,
    cast(r.days_since_previous as integer)                  as days_since_previous_record,
    r.history_start_date,
    r.history_note,
    r.source,
    r.source = 'demo'                                       as is_synthetic
from {{ ref('fct_all_time_highs') }} as r
left join {{ ref('stg_instruments') }} as i using (symbol)
where not r.is_first_observation
    {{ from_the_changed_date('r.date', 'and') }}
