{#- The columns of mart_daily_brief, in order, with their types. Each fact kind fills the
    columns it needs (models/marts/mart_daily_brief.yml); the rest are null. -#}
{% macro brief_columns() -%}
    {{ return([
        ('brief_date', 'date'), ('fact_kind', 'string'), ('fact_rank', 'integer'),
        ('symbol', 'string'), ('pair_id', 'string'), ('leader', 'string'),
        ('laggard', 'string'), ('subject_name', 'string'), ('basis', 'string'),
        ('as_of_date', 'date'),
        ('close', 'double'), ('record_value', 'double'), ('record_date', 'date'),
        ('previous_record_value', 'double'), ('previous_record_date', 'date'),
        ('gain_over_previous', 'double'), ('days_since_previous_record', 'integer'),
        ('fraction_below_record', 'double'), ('days_since_record', 'integer'),
        ('sessions_since_record', 'integer'), ('is_at_record', 'boolean'),
        ('sessions_behind', 'integer'), ('is_stale', 'boolean'),
        ('history_start_date', 'date'), ('history_note', 'string'),
        ('is_divergent', 'boolean'), ('leader_name', 'string'), ('laggard_name', 'string'),
        ('leader_close', 'double'), ('leader_at_record', 'boolean'),
        ('laggard_close', 'double'), ('laggard_fraction_below_record', 'double'),
        ('laggard_basis', 'string'), ('divergence_threshold', 'double'),
        ('episode_start_date', 'date'), ('divergent_days_so_far', 'integer'),
        ('last_divergent_date', 'date'), ('days_since_last_divergent', 'integer'),
        ('previous_episode_end_date', 'date'), ('days_since_previous_episode', 'integer'),
        ('sessions_since_previous_episode', 'integer'),
        ('event_start_date', 'date'), ('event_end_date', 'date'),
        ('leader_record_close', 'double'), ('leader_record_high', 'double'),
        ('leader_trough_close', 'double'), ('leader_trough_drawdown', 'double'),
        ('laggard_event_date', 'date'), ('laggard_event_value', 'double'),
        ('laggard_event', 'string'), ('coincides', 'boolean'), ('known_from', 'date'),
        ('leader_record_close_date', 'date'), ('leader_record_high_date', 'date'),
        ('laggard_record_close', 'double'), ('laggard_record_high', 'double'),
        ('days_since_event', 'integer'),
        ('n_coinciding', 'integer'), ('n_not_coinciding', 'integer'),
        ('n_unknown', 'integer'),
        ('effective_date', 'date'), ('announcement_date', 'date'), ('change_bp', 'integer'),
        ('direction', 'string'), ('number_in_year', 'integer'),
        ('old_lower', 'double'), ('old_upper', 'double'),
        ('new_lower', 'double'), ('new_upper', 'double'),
        ('week_ending', 'date'), ('available_from', 'date'), ('net_liquidity', 'double'),
        ('net_liquidity_change_4w', 'double'), ('treasuries_change_1w', 'double'),
        ('dgs2', 'double'), ('effr', 'double'), ('spread_2y_effr', 'double'),
        ('dgs2_as_of', 'date'), ('effr_as_of', 'date'), ('days_since_as_of', 'integer'),
        ('event_date', 'date'), ('event_kind', 'string'), ('event_text', 'string'),
        ('event_source', 'string'), ('event_label', 'string'), ('is_upcoming', 'boolean'),
        ('horizon_days', 'integer'), ('n_episodes', 'integer'), ('n_known', 'integer'),
        ('n_laggard_beat', 'integer'), ('share_laggard_beat', 'double'),
        ('median_laggard_return', 'double'), ('median_leader_return', 'double'),
        ('record_basis', 'string'), ('n_record_known', 'integer'),
        ('n_laggard_record', 'integer'), ('share_laggard_record', 'double'),
        ('is_anecdotal', 'boolean'), ('min_episodes_for_pattern', 'integer'),
        ('quarantined_date', 'date'), ('quarantined_column', 'string'),
        ('quarantined_value', 'string'), ('quarantine_reason', 'string'),
        ('quarantined_file', 'string'), ('quarantined_line', 'integer'),
        ('quarantine_kept_column', 'string'), ('quarantine_kept_value', 'double'),
        ('base_rate_share', 'double'), ('base_rate_n_known', 'integer'),
        ('base_rate_first_start_date', 'date'), ('base_rate_last_start_date', 'date'),
        ('leader_record_share', 'double'), ('leader_record_n_known', 'integer'),
        ('laggard_below_share', 'double'), ('laggard_below_n_known', 'integer'),
        ('test_method', 'string'), ('p_value', 'double'), ('verdict', 'string'),
        ('first_week_ending', 'date'), ('last_week_ending', 'date'),
        ('max_lag_weeks', 'integer'), ('peak_lag_weeks', 'integer'), ('peak_corr', 'double'),
        ('peak_n_weeks', 'integer'), ('peak_band_95', 'double'), ('lag0_corr', 'double'),
        ('lag0_n_weeks', 'integer'), ('fisher_z', 'double'),
        ('is_peak_distinguishable_from_lag0', 'boolean'), ('lead_lag_reading', 'string'),
        ('trend_days', 'integer'), ('trend_first_date', 'date'),
        ('n_corr_30_known', 'integer'), ('share_corr_30_positive', 'double'),
        ('n_corr_90_known', 'integer'), ('share_corr_90_positive', 'double'),
        ('source', 'string'), ('is_synthetic', 'boolean'),
    ]) }}
{%- endmacro %}

{#- One select list of `columns` ((name, type) pairs, in order): `values` maps a column to its
    SQL expression, cast to its type; every other column is a typed null. The union of
    rows of different kinds (mart_daily_brief, fct_events) selects each kind with it. -#}
{% macro typed_select(columns, values) -%}
    {%- for name, type in columns %}
    {% if name in values %}cast({{ values[name] }} as {{ type }}){% else %}cast(null as {{ type }}){% endif %} as {{ name }}
    {%- if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- typed_select in brief_columns() order. -#}
{% macro brief_select(values) -%}
    {{ typed_select(brief_columns(), values) }}
{%- endmacro %}

{#- Every calendar day from first_date to last_date (SQL expressions), one row each in a
    column named `column` (macros/portable.sql: day_spine). -#}
{% macro calendar_days(first_date, last_date, column='date') -%}
    select {{ day_spine(first_date, last_date) }} as {{ column }}
{%- endmacro %}

{#- The first date whose inputs changed (inputs_changed_from()) as a SQL date, or none: a
    whole build, or an incremental one that was not told the date, computes every date. -#}
{% macro changed_from_sql() -%}
    {%- set from_date = inputs_changed_from() -%}
    {{ return("cast('" ~ from_date ~ "' as date)" if from_date else none) }}
{%- endmacro %}

{#- `<keyword> <column> >= <the changed date>`, or nothing when every date is computed. -#}
{% macro from_the_changed_date(column, keyword='where') -%}
    {%- set from_sql = changed_from_sql() -%}
    {%- if from_sql %}{{ keyword }} {{ column }} >= {{ from_sql }}{% endif -%}
{%- endmacro %}

{#- The brief's days a build computes, one row each (brief_date): every calendar day from the
    first stored price to the last, from the changed date on in an incremental build. -#}
{% macro brief_dates() -%}
    {%- set peaks = ref('int_running_peaks') -%}
    {%- set from_sql = changed_from_sql() -%}
    {%- set first = 'min(date)' if not from_sql else
        'case when min(date) > ' ~ from_sql ~ ' then min(date) else ' ~ from_sql ~ ' end' -%}
    {{ calendar_days('(select ' ~ first ~ ' from ' ~ peaks ~ ')',
                     '(select max(date) from ' ~ peaks ~ ')', 'brief_date') }}
{%- endmacro %}

{#- Per symbol with stored prices: its first stored day (first_date) and, in an incremental
    build, its latest stored day before the changed date (date_before; null on a whole
    build), which the days from the changed date on carry forward until a newer one. -#}
{% macro brief_symbol_history() -%}
    {%- set from_sql = changed_from_sql() -%}
    select
        symbol,
        min(date) as first_date,
        {%- if from_sql %}
        max(case when date < {{ from_sql }} then date end) as date_before
        {%- else %}
        cast(null as date) as date_before
        {%- endif %}
    from {{ ref('int_running_peaks') }}
    group by symbol
{%- endmacro %}

{#- A configured pair's place in var('divergence_pairs') (1 = the first), from its pair_id. -#}
{% macro pair_rank(pair_id) -%}
    case {{ pair_id }}
        {%- for p in var('divergence_pairs') %}
        when '{{ p.leader }}/{{ p.laggard }}' then {{ loop.index }}
        {%- endfor %}
    end
{%- endmacro %}

{#- Per pair with divergence rows: its first day (first_date), its latest day before the
    changed date (date_before, as brief_symbol_history), the instruments' names and its
    place in var('divergence_pairs') (pair_rank). -#}
{% macro brief_pairs() -%}
    {%- set from_sql = changed_from_sql() -%}
    select
        v.pair_id,
        v.leader,
        v.laggard,
        min(v.date)                                          as first_date,
        {%- if from_sql %}
        max(case when v.date < {{ from_sql }} then v.date end) as date_before,
        {%- else %}
        cast(null as date)                                   as date_before,
        {%- endif %}
        max(li.instrument_name)                              as leader_name,
        max(gi.instrument_name)                              as laggard_name,
        max({{ pair_rank('v.pair_id') }})                    as pair_rank
    from {{ ref('fct_divergence_daily') }} as v
    left join {{ ref('stg_instruments') }} as li on li.symbol = v.leader
    left join {{ ref('stg_instruments') }} as gi on gi.symbol = v.laggard
    group by v.pair_id, v.leader, v.laggard
{%- endmacro %}

{#- A pair in words: "<leader's name> / <laggard's name>", a symbol where a name is missing. -#}
{% macro pair_subject_name(leader, laggard, leader_name, laggard_name) -%}
    coalesce({{ leader_name }}, {{ leader }}) || ' / ' || coalesce({{ laggard_name }}, {{ laggard }})
{%- endmacro %}

{#- The post-hook of the brief's models: rows of days outside the stored history (its first
    day moved later, or its last earlier) are deleted. Spark: nothing (Parquet tables cannot
    delete rows; each year a build rewrites holds only days of the stored history, and a year
    with none left, after the history shrank, keeps its rows until LOCKSTEP_FULL_REFRESH=1),
    but the staging table of its year overwrite is dropped. -#}
{% macro delete_brief_days_outside_the_history() -%}
    {{ return(adapter.dispatch('delete_brief_days_outside_the_history', 'lockstep')()) }}
{%- endmacro %}

{% macro spark__delete_brief_days_outside_the_history() -%}
    {{ drop_year_staging() }}
{%- endmacro %}

{% macro default__delete_brief_days_outside_the_history() -%}
    delete from {{ this }}
    where brief_date < (select min(date) from {{ ref('int_running_peaks') }})
       or brief_date > (select max(date) from {{ ref('int_running_peaks') }})
{%- endmacro %}
