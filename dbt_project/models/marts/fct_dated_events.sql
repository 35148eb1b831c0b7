-- Dated facts from the seed dated_events (FOMC announcement days, Fed operations, analyst
-- estimates), "as reported", with the first day lockstep may use each one: the announcement
-- day when it came before the event, else the event day; the month's last day when only the
-- month is known (so no brief mentions a fact before it could have been known).
select
    event_date,
    date_precision,
    case
        when announced_date is not null and announced_date < event_date then announced_date
        when date_precision = 'month'
            then cast({{ dbt.last_day('event_date', 'month') }} as date)
        else event_date
    end                     as known_from,
    announced_date,
    kind,
    text,
    source,
    label,
    effective_date
from {{ ref('dated_events') }}
