{#- The columns of mart_daily_brief, in order, with their types. Each fact kind fills the
    columns it needs (see models/marts/_mart_daily_brief.yml); the rest are null. -#}
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

{#- One select list in brief_columns() order: `values` maps a column to its SQL expression;
    every other column is a typed null. -#}
{% macro brief_select(values) -%}
    {%- for name, type in brief_columns() %}
    {% if name in values %}cast({{ values[name] }} as {{ type }}){% else %}cast(null as {{ type }}){% endif %} as {{ name }}
    {%- if not loop.last %},{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- Every calendar day from first_date to last_date (SQL expressions), one row each in a
    column named `column` (macros/portable.sql: day_spine). -#}
{% macro calendar_days(first_date, last_date, column='date') -%}
    select {{ day_spine(first_date, last_date) }} as {{ column }}
{%- endmacro %}
