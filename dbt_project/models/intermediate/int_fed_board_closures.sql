-- The days the Federal Reserve Board (Washington, D.C., which publishes the H.4.1) is
-- closed on a weekday, for every year of the stored FRED history and the next: the federal
-- holidays of 5 U.S.C. 6103 by their rules, with the Board's weekend rule (a holiday on a
-- Saturday closes the Board the Friday before -- the Reserve Banks stay open that Friday --
-- and one on a Sunday the Monday after), Inauguration Day (20 January after a presidential
-- election: a holiday for federal offices in the D.C. area; on a Sunday the Monday after),
-- and the one-off closures of the seed fed_board_special_closures (executive orders, days
-- of mourning), each with its source.
-- This is the Board's calendar, not the NYSE's: Good Friday is an NYSE holiday and a Board
-- business day; Columbus Day and Veterans Day are the reverse.
with bounds as (
    select
        cast(extract(year from min(date)) as integer)     as first_year,
        cast(extract(year from max(date)) as integer) + 1 as last_year
    from {{ ref('stg_fred_observations') }}
),

years as (
    select {{ integer_series('first_year', 'last_year') }} as year
    from bounds
),

-- (name, fixed month and day) or (name, month, weekday 0 = Sunday, n-th; -1 = last)
months as (
    select
        year,
        make_date(year, 1, 1)  as jan1,
        make_date(year, 2, 1)  as feb1,
        make_date(year, 5, 31) as may31,
        make_date(year, 9, 1)  as sep1,
        make_date(year, 10, 1) as oct1,
        make_date(year, 11, 1) as nov1
    from years
),

holidays as (
    select year, 'New Year''s Day' as holiday, make_date(year, 1, 1) as holiday_date, true as fixed
    from years
    union all
    select year, 'Birthday of Martin Luther King, Jr.',
           {{ add_days('jan1', '(8 - ' ~ day_of_week('jan1') ~ ') % 7 + 14') }}, false
    from months where year >= 1986
    union all
    select year, 'Washington''s Birthday',
           {{ add_days('feb1', '(8 - ' ~ day_of_week('feb1') ~ ') % 7 + 14') }}, false
    from months where year >= 1971
    union all
    select year, 'Memorial Day', {{ add_days('may31', '-((' ~ day_of_week('may31') ~ ' + 6) % 7)') }}, false
    from months where year >= 1971
    union all
    select year, 'Juneteenth National Independence Day', make_date(year, 6, 19), true
    from years where year >= 2021
    union all
    select year, 'Independence Day', make_date(year, 7, 4), true
    from years
    union all
    select year, 'Labor Day', {{ add_days('sep1', '(8 - ' ~ day_of_week('sep1') ~ ') % 7') }}, false
    from months
    union all
    select year, 'Columbus Day', {{ add_days('oct1', '(8 - ' ~ day_of_week('oct1') ~ ') % 7 + 7') }}, false
    from months where year >= 1971
    union all
    select year, 'Veterans Day', make_date(year, 11, 11), true
    from years where year < 1971 or year >= 1978
    union all
    -- 1971-1977: the fourth Monday of October
    select year, 'Veterans Day', {{ add_days('oct1', '(8 - ' ~ day_of_week('oct1') ~ ') % 7 + 21') }}, false
    from months where year between 1971 and 1977
    union all
    select year, 'Thanksgiving Day', {{ add_days('nov1', '(11 - ' ~ day_of_week('nov1') ~ ') % 7 + 21') }},
           false
    from months
    union all
    select year, 'Christmas Day', make_date(year, 12, 25), true
    from years
),

observed as (
    select
        holiday_date,
        holiday,
        case
            when fixed and {{ day_of_week('holiday_date') }} = 6 then {{ add_days('holiday_date', -1) }}
            when fixed and {{ day_of_week('holiday_date') }} = 0 then {{ add_days('holiday_date', 1) }}
            else holiday_date
        end as closure_date
    from holidays
),

inauguration as (
    select
        make_date(year, 1, 20) as holiday_date,
        'Inauguration Day'     as holiday,
        case when {{ day_of_week('make_date(year, 1, 20)') }} = 0 then make_date(year, 1, 21)
             else make_date(year, 1, 20) end as closure_date
    from years
    where year >= 1965 and year % 4 = 1 and {{ day_of_week('make_date(year, 1, 20)') }} <> 6
),

closures as (
    select
        closure_date,
        holiday || case when closure_date <> holiday_date
                        then ' (observed; the day itself is ' || cast(holiday_date as string) || ')'
                        else '' end                                  as reason,
        'federal_holiday'                                           as kind,
        '5 U.S.C. 6103; the Board''s weekend rule (Federal Reserve holiday schedule)' as source
    from observed
    union all
    select closure_date, holiday, 'federal_holiday', '5 U.S.C. 6103(c) (Washington, D.C. area)'
    from inauguration
    union all
    select closure_date, reason, 'special', source
    from {{ ref('fed_board_special_closures') }}
)

-- one row per day (Inauguration Day can fall on Martin Luther King Day: 2013, 2025)
select
    closure_date,
    {{ ordered_string_agg('reason', '; ', ['kind', 'reason']) }}  as reason,
    min(kind)                                       as kind,
    {{ ordered_string_agg('source', '; ', ['kind', 'reason']) }}  as source
from closures
where {{ day_of_week('closure_date') }} between 1 and 5
group by closure_date
