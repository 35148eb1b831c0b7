-- The Fed's balance sheet by H.4.1 week (Wednesday levels), in billions of USD
-- (stg_fred_observations converted FRED's millions once).
--   tga: WDTGAL (the Wednesday level); where it is missing, WTREGEN (the week's average),
--        and tga_series says which.
--   reverse_repo: RRPONTSYD (daily) on the Wednesday, else its latest value in the six days
--        before (a holiday); 0 in a week with no reported operation inside the series'
--        history (the facility had no take-up); null outside that history.
--   net_liquidity = total_assets - tga - reverse_repo.
-- A week is complete when total assets, Treasuries, the TGA and the reverse repo are all
-- known. The newest weeks are served only up to the latest complete one: a week whose H.4.1
-- figures have only partly arrived (say the TGA before total assets) stays out until the
-- rest is loaded, so "the latest week" is never a partial one. Older incomplete weeks (before
-- a series' history starts) stay, flagged by is_complete = false.
-- available_from: the H.4.1 is published on the Thursday after its Wednesday (16:30 New
-- York), or, when the Board is closed that Thursday (Thanksgiving, Christmas, Independence
-- Day or New Year's Day on a Thursday, an executive order), on the next day it is open:
-- the first weekday after week_ending that is not in int_fed_board_closures. Thanksgiving
-- 2024 moves the week of 2024-11-27 to Friday 2024-11-29; Christmas 2025 and the closure of
-- 2025-12-26 move the week of 2025-12-24 to Monday 2025-12-29. A closed Wednesday changes
-- nothing (the week of 2024-12-25 was published 2024-12-26).
with obs as (
    select series_id, date, value from {{ ref('stg_fred_observations') }}
),

weeks as (
    select distinct date as week_ending
    from obs
    where series_id in ('WALCL', 'TREAST', 'WSHOBL', 'WSHOMCB', 'WRESBAL', 'WDTGAL', 'WTREGEN')
      and {{ day_of_week('date') }} = 3  -- Wednesday (0 = Sunday on every engine)
),

levels as (
    select
        w.week_ending,
        max(o.value) filter (where o.series_id = 'WALCL')   as total_assets,
        max(o.value) filter (where o.series_id = 'TREAST')  as treasuries,
        max(o.value) filter (where o.series_id = 'WSHOBL')  as bills,
        max(o.value) filter (where o.series_id = 'WSHOMCB') as mbs,
        max(o.value) filter (where o.series_id = 'WRESBAL') as reserves,
        max(o.value) filter (where o.series_id = 'WDTGAL')  as tga_wednesday,
        max(o.value) filter (where o.series_id = 'WTREGEN') as tga_week_average
    from weeks as w
    left join obs as o on o.date = w.week_ending
    group by w.week_ending
),

rrp as (
    select date, value from obs where series_id = 'RRPONTSYD'
),

rrp_range as (
    select min(date) as first_date, max(date) as last_date from rrp
),

rrp_weekly as (
        select
            l.week_ending,
            max_by(r.value, r.date) as reverse_repo_reported
        from levels as l
        inner join rrp as r on r.date between l.week_ending - 6 and l.week_ending
        group by l.week_ending
    ),

    combined as (
        select
            l.*,
            coalesce(l.tga_wednesday, l.tga_week_average) as tga,
            case
                when l.tga_wednesday is not null then 'WDTGAL'
                when l.tga_week_average is not null then 'WTREGEN'
            end as tga_series,
            case
                when r.reverse_repo_reported is not null then r.reverse_repo_reported
                when l.week_ending between g.first_date and g.last_date then 0.0
            end as reverse_repo
        from levels as l
        left join rrp_weekly as r using (week_ending)
        cross join rrp_range as g
    ),

    with_net as (
        select
            *,
            total_assets - tga - reverse_repo as net_liquidity,
            total_assets is not null and treasuries is not null and tga is not null
                and reverse_repo is not null  as is_complete
        from combined
    ),

    offsets as (
        select {{ integer_series(1, 14) }} as k
    ),

    release_days as (
        select w.week_ending, min({{ add_days('w.week_ending', 'o.k') }}) as available_from
        from with_net as w
        cross join offsets as o
        where {{ day_of_week(add_days('w.week_ending', 'o.k')) }} between 1 and 5
          and {{ add_days('w.week_ending', 'o.k') }} not in (
              select closure_date from {{ ref('int_fed_board_closures') }}
          )
        group by w.week_ending
    ),

    weekly as (
    select
        week_ending,
        r.available_from,
        total_assets,
        treasuries,
        bills,
        mbs,
        reserves,
        tga,
        tga_series,
        reverse_repo,
        net_liquidity,
        is_complete,
        total_assets - lag(total_assets) over by_week              as total_assets_change_1w,
        total_assets - lag(total_assets, 4) over by_week           as total_assets_change_4w,
        treasuries - lag(treasuries) over by_week                  as treasuries_change_1w,
        treasuries - lag(treasuries, 4) over by_week               as treasuries_change_4w,
        bills - lag(bills) over by_week                            as bills_change_1w,
        reserves - lag(reserves) over by_week                      as reserves_change_1w,
        net_liquidity - lag(net_liquidity) over by_week            as net_liquidity_change_1w,
        net_liquidity - lag(net_liquidity, 4) over by_week         as net_liquidity_change_4w,
        treasuries > lag(treasuries) over by_week                  as treasuries_rose
    from with_net
    left join release_days as r using (week_ending)
    window by_week as (order by week_ending)
)

select *
from weekly
where week_ending <= coalesce(
    (select max(week_ending) from with_net where is_complete), week_ending
)
