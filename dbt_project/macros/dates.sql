{#- Calendar-day arithmetic on DATE values through dbt's cross-database macros, so a model
    runs unchanged on another engine (Spark through dbt-spark is the planned next one).
    dbt.dateadd returns a timestamp on DuckDB; these keep DATE in and DATE out. -#}

{#- The date `days` calendar days after `date_expr` (before, when negative). -#}
{% macro add_days(date_expr, days) -%}
    cast({{ dbt.dateadd('day', days, date_expr) }} as date)
{%- endmacro %}

{#- Calendar days from `first_date` to `second_date` (negative when second is earlier). -#}
{% macro days_between(first_date, second_date) -%}
    cast({{ dbt.datediff(first_date, second_date, 'day') }} as integer)
{%- endmacro %}

{#- A select of every `date` of `days` with the latest `key` (a DATE column, unique in
    `rows`) on or before it, as `as_name`; null before the first. The last key carried
    forward with a window: standard SQL, where DuckDB plans an ASOF JOIN over a generated
    day series as a nested loop (days x rows pairs). -#}
{% macro latest_on_or_before(days, rows, key, as_name) -%}
    select
        d.date,
        {{ last_non_null('r.' ~ key) }} over (
            order by d.date rows between unbounded preceding and current row
        ) as {{ as_name }}
    from {{ days }} as d
    left join {{ rows }} as r on r.{{ key }} = d.date
{%- endmacro %}
