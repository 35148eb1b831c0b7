-- One row per change of the federal funds target range (DFEDTARL / DFEDTARU, published
-- daily since 2008-12-16): the day the new range took effect, old and new bounds, the move
-- in basis points (of the range's midpoint), cut or hike, and its number among the same
-- kind of moves in that calendar year (the December 2025 cut is the third cut of 2025).
-- announcement_date: the FOMC announcement (seed dated_events). FRED moves the range on the
-- effective day, which since 2017 is the day after the announcement (the same day in
-- 2015-16; the unscheduled 2020 moves were announced on 2020-03-03 and 2020-03-15). Null
-- for a change the seed does not list yet (a dbt test warns).
with bounds as (
    select
        date,
        max(value) filter (where series_id = 'DFEDTARL') as lower_bound,
        max(value) filter (where series_id = 'DFEDTARU') as upper_bound
    from {{ ref('stg_fred_observations') }}
    where series_id in ('DFEDTARL', 'DFEDTARU')
    group by date
),

complete as (
    select * from bounds where lower_bound is not null and upper_bound is not null
),

with_previous as (
    select
        *,
        lag(lower_bound) over (order by date) as old_lower,
        lag(upper_bound) over (order by date) as old_upper
    from complete
),

changes as (
    select
        date                                                          as effective_date,
        old_lower,
        old_upper,
        lower_bound                                                   as new_lower,
        upper_bound                                                   as new_upper,
        cast(round(((lower_bound + upper_bound) - (old_lower + old_upper)) / 2 * 100)
             as integer)                                              as change_bp
    from with_previous
    where old_lower is not null
      and (lower_bound <> old_lower or upper_bound <> old_upper)
)

select
    c.effective_date,
    a.event_date                                                      as announcement_date,
    old_lower,
    old_upper,
    new_lower,
    new_upper,
    change_bp,
    case when change_bp < 0 then 'cut' when change_bp > 0 then 'hike' else 'reshape' end
                                                                      as direction,
    cast(row_number() over (
        partition by year(c.effective_date), sign(change_bp) order by c.effective_date
    ) as integer)                                                     as number_in_year,
    cast(year(c.effective_date) as integer)                           as year
from changes as c
left join {{ ref('dated_events') }} as a
    on a.kind = 'fomc_announcement' and a.effective_date = c.effective_date
