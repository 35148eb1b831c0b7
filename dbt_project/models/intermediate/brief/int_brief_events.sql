-- The brief's dated events: on each day (brief_date), the dated facts of the seed (as
-- reported, fct_dated_events) known by then (known_from) from the last
-- var('brief_event_window_days') days, and those announced by then that fall due within as
-- many days (is_upcoming). Grain: (brief_date, event_kind, event_date).
-- Incremental from the first date whose inputs changed (dbt_project.yml, the brief folder).
{%- set event_days = var('brief_event_window_days') %}
with brief_dates as (
    {{ brief_dates() }}
)

select
    d.brief_date,
    e.kind                                                  as event_kind,
    e.event_date,
    e.text                                                  as event_text,
    e.source                                                as event_source,
    e.label                                                 as event_label,
    e.effective_date,
    e.announced_date                                        as announcement_date,
    e.known_from,
    e.event_date > d.brief_date                             as is_upcoming
from {{ ref('fct_dated_events') }} as e
inner join brief_dates as d
    on e.known_from <= d.brief_date
    and (
        e.known_from > {{ add_days('d.brief_date', -event_days) }}
        or e.event_date between {{ add_days('d.brief_date', -event_days + 1) }}
                            and {{ add_days('d.brief_date', event_days) }}
    )
