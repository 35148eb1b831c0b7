-- The brief's instruments without data: a catalog instrument with no stored price at all,
-- every day; a pair's instrument before its first stored price; and each member without a
-- stored price of a configured pair that has no divergence row that day (its leader has no
-- stored price by then), named with the pair (pair_id), never skipped.
-- Grain: (brief_date, symbol, pair_id); pair_id is null on the rows of the instrument alone.
-- Incremental from the first date whose inputs changed (dbt_project.yml, the brief folder).
with history as (
    {{ brief_symbol_history() }}
),

brief_dates as (
    {{ brief_dates() }}
),

instruments as (
    select * from {{ ref('stg_instruments') }}
),

configured_pairs as (
    select c.*, {{ pair_rank('c.pair_id') }} as pair_rank
    from ({{ divergence_pairs_cte() }}) as c
)

select
    d.brief_date,
    i.symbol,
    cast(null as string)                                    as pair_id,
    cast(null as string)                                    as leader,
    cast(null as string)                                    as laggard,
    i.display_order,
    cast(null as integer)                                   as pair_rank,
    i.instrument_name,
    cast(null as string)                                    as leader_name,
    cast(null as string)                                    as laggard_name,
    h.first_date                                            as history_start_date
from instruments as i
cross join brief_dates as d
left join history as h on h.symbol = i.symbol
where h.first_date is null
   or (d.brief_date < h.first_date and i.symbol in ({{ divergence_pair_symbols() }}))

union all

select
    d.brief_date,
    m.symbol,
    p.pair_id,
    p.leader,
    p.laggard,
    i.display_order,
    p.pair_rank,
    coalesce(i.instrument_name, m.symbol)                   as instrument_name,
    li.instrument_name                                      as leader_name,
    gi.instrument_name                                      as laggard_name,
    h.first_date                                            as history_start_date
from configured_pairs as p
cross join brief_dates as d
inner join (
    select pair_id, leader as symbol from configured_pairs
    union all
    select pair_id, laggard from configured_pairs
) as m on m.pair_id = p.pair_id
left join history as h on h.symbol = m.symbol
left join instruments as i on i.symbol = m.symbol
left join instruments as li on li.symbol = p.leader
left join instruments as gi on gi.symbol = p.laggard
left join (
    select pair_id, min(date) as first_date
    from {{ ref('fct_divergence_daily') }}
    group by pair_id
) as v on v.pair_id = p.pair_id
where (v.first_date is null or d.brief_date < v.first_date)
  and (h.first_date is null or d.brief_date < h.first_date)
