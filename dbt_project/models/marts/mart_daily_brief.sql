{{ config(
    materialized="incremental",
    incremental_strategy=strategy_from_the_changed_date(),
    partition_by=partitions_from_the_changed_date(),
    partition_year_of="brief_date",
    on_schema_change="fail",
    pre_hook="{{ delete_from_the_changed_date('brief_date') }}",
    post_hook=[
        "{{ delete_brief_days_outside_the_history() }}",
        "{{ record_rewritten_rows() }}",
    ],
) }}
-- The day's story as facts: for every calendar day from the first stored price to the last
-- (brief_date), one row per fact, each as it was known that day -- nothing from a later
-- price, publication or episode. `make brief` and the published brief.md only format these
-- rows. Each kind of fact (fact_kind) is one model of models/intermediate/brief, with its
-- own columns and grain; this is their union, each kind filling the columns of
-- brief_columns() it states (mart_daily_brief.yml lists which), the rest null:
--   record             int_brief_records             (brief_date, symbol, basis)
--   standing           int_brief_standing            (brief_date, symbol, basis)
--   no_data            int_brief_no_data             (brief_date, symbol, pair_id)
--   divergence         int_brief_divergence          (brief_date, pair_id)
--   coinciding_records int_brief_coinciding_records  (brief_date, pair_id, recency_rank)
--   coincidence_tally  int_brief_coincidence_tally   (brief_date, pair_id)
--   joint_bottom       int_brief_joint_bottoms       (brief_date, pair_id, bottom_rank)
--   divergence_history int_brief_divergence_history  (brief_date, pair_id, horizon_days)
--   outcome_comparison int_brief_outcome_comparison  (brief_date, pair_id, horizon_days)
--   lead_lag           int_brief_lead_lag            (brief_date, pair_id)
--   policy_rate        int_brief_policy_rate         (brief_date)
--   net_liquidity      int_brief_net_liquidity       (brief_date)
--   rates              int_brief_rates               (brief_date)
--   event              int_brief_events              (brief_date, event_kind, event_date)
--   quarantined_row    int_brief_quarantined_rows    (brief_date, subject, quarantine_rank)
--
-- Incremental (docs/incremental.md), like each of those models: when the inputs
-- changed from a date on (LOCKSTEP_INPUTS_CHANGED_FROM, which the dbt asset computes from
-- raw's arrival times: orchestration/lib/incremental.py), the pre-hook deletes the
-- brief_dates from then on (a plain range delete; dbt's delete+insert would join every new
-- row with every stored row of its day) and this copies the fact models' rows of those
-- dates, which this same build wrote. Without it, or on a full build, every row is copied.
{#- Each kind: its model, the brief columns it fills under the same name, and those it
    fills from another column or an expression. -#}
{%- set fact_models = [
    ('record', 'int_brief_records',
     [
        'symbol', 'basis', 'record_value', 'previous_record_value', 'previous_record_date',
        'gain_over_previous', 'days_since_previous_record', 'history_start_date',
        'history_note', 'source', 'is_synthetic'
     ],
     {
        'fact_rank': 'display_order', 'subject_name': 'instrument_name',
        'as_of_date': 'brief_date', 'record_date': 'brief_date', 'is_at_record': 'true'
     }),
    ('standing', 'int_brief_standing',
     [
        'symbol', 'basis', 'as_of_date', 'close', 'record_value', 'record_date',
        'fraction_below_record', 'days_since_record', 'sessions_since_record',
        'is_at_record', 'sessions_behind', 'is_stale', 'history_start_date', 'history_note',
        'source', 'is_synthetic'
     ],
     {
        'fact_rank': 'display_order', 'subject_name': 'instrument_name'
     }),
    ('no_data', 'int_brief_no_data',
     [
        'symbol', 'pair_id', 'leader', 'laggard', 'leader_name', 'laggard_name',
        'history_start_date'
     ],
     {
        'fact_rank': 'case when pair_id is null then display_order else pair_rank end',
        'subject_name': 'instrument_name'
     }),
    ('divergence', 'int_brief_divergence',
     [
        'pair_id', 'leader', 'laggard', 'leader_name', 'laggard_name', 'as_of_date',
        'is_divergent', 'leader_close', 'leader_at_record', 'laggard_close',
        'laggard_fraction_below_record', 'laggard_basis', 'divergence_threshold',
        'episode_start_date', 'divergent_days_so_far', 'last_divergent_date',
        'days_since_last_divergent', 'previous_episode_end_date',
        'days_since_previous_episode', 'sessions_since_previous_episode'
     ],
     {
        'fact_rank': 'pair_rank', 'subject_name': 'pair_name'
     }),
    ('coinciding_records', 'int_brief_coinciding_records',
     [
        'pair_id', 'leader', 'laggard', 'leader_name', 'laggard_name', 'event_start_date',
        'event_end_date', 'leader_record_close', 'leader_record_high',
        'leader_record_close_date', 'leader_record_high_date', 'laggard_record_close',
        'laggard_record_high', 'known_from'
     ],
     {
        'fact_rank': 'recency_rank', 'subject_name': 'pair_name',
        'as_of_date': 'brief_date', 'laggard_event_date': 'laggard_record_date',
        'laggard_event_value': 'laggard_record_value', 'laggard_event': 'laggard_records',
        'coincides': 'true'
     }),
    ('coincidence_tally', 'int_brief_coincidence_tally',
     [
        'pair_id', 'leader', 'laggard', 'leader_name', 'laggard_name', 'n_coinciding',
        'n_not_coinciding', 'n_unknown'
     ],
     {
        'subject_name': 'pair_name', 'as_of_date': 'brief_date'
     }),
    ('joint_bottom', 'int_brief_joint_bottoms',
     [
        'pair_id', 'leader', 'laggard', 'leader_name', 'laggard_name',
        'leader_trough_close', 'leader_trough_drawdown', 'coincides'
     ],
     {
        'fact_rank': 'bottom_rank', 'subject_name': 'pair_name', 'as_of_date': 'brief_date',
        'record_date': 'leader_record_date', 'event_start_date': 'trough_date',
        'days_since_event': 'days_since_trough', 'laggard_event_date': 'laggard_low_date',
        'laggard_event_value': 'laggard_low', 'laggard_event': "'lowest_low'",
        'known_from': 'confirmed_date', 'n_not_coinciding': 'n_later_not_coinciding'
     }),
    ('divergence_history', 'int_brief_divergence_history',
     [
        'pair_id', 'leader', 'laggard', 'leader_name', 'laggard_name', 'horizon_days',
        'n_episodes', 'n_known', 'n_laggard_beat', 'share_laggard_beat',
        'median_laggard_return', 'median_leader_return', 'record_basis', 'n_record_known',
        'n_laggard_record', 'share_laggard_record', 'is_anecdotal',
        'min_episodes_for_pattern'
     ],
     {
        'fact_rank': 'horizon_days', 'subject_name': 'pair_name',
        'as_of_date': 'brief_date'
     }),
    ('outcome_comparison', 'int_brief_outcome_comparison',
     [
        'pair_id', 'leader', 'laggard', 'leader_name', 'laggard_name', 'laggard_basis',
        'divergence_threshold', 'horizon_days', 'n_known', 'n_laggard_beat',
        'share_laggard_beat', 'base_rate_share', 'base_rate_n_known',
        'base_rate_first_start_date', 'base_rate_last_start_date', 'leader_record_share',
        'leader_record_n_known', 'laggard_below_share', 'laggard_below_n_known',
        'test_method', 'p_value', 'verdict', 'is_anecdotal', 'min_episodes_for_pattern'
     ],
     {
        'fact_rank': 'horizon_days', 'subject_name': 'pair_name',
        'as_of_date': 'brief_date', 'n_episodes': 'n_earlier_episodes'
     }),
    ('lead_lag', 'int_brief_lead_lag',
     [
        'pair_id', 'leader', 'laggard', 'leader_name', 'laggard_name', 'as_of_date',
        'days_since_as_of', 'is_stale', 'first_week_ending', 'last_week_ending',
        'max_lag_weeks', 'peak_lag_weeks', 'peak_corr', 'peak_n_weeks', 'peak_band_95',
        'lag0_corr', 'lag0_n_weeks', 'fisher_z', 'is_peak_distinguishable_from_lag0',
        'lead_lag_reading', 'test_method', 'trend_days', 'trend_first_date',
        'n_corr_30_known', 'share_corr_30_positive', 'n_corr_90_known',
        'share_corr_90_positive'
     ],
     {
        'fact_rank': 'pair_rank', 'subject_name': 'pair_name'
     }),
    ('policy_rate', 'int_brief_policy_rate',
     [
        'as_of_date', 'days_since_as_of', 'is_stale', 'effective_date', 'announcement_date',
        'change_bp', 'direction', 'number_in_year', 'old_lower', 'old_upper', 'new_lower',
        'new_upper', 'source', 'is_synthetic'
     ],
     {
        'subject_name': "'Federal funds target range'"
     }),
    ('net_liquidity', 'int_brief_net_liquidity',
     [
        'is_stale', 'week_ending', 'available_from', 'net_liquidity',
        'net_liquidity_change_4w', 'treasuries_change_1w', 'source', 'is_synthetic'
     ],
     {
        'subject_name': "'Net liquidity'", 'as_of_date': 'week_ending',
        'days_since_as_of': 'days_since_week_ending'
     }),
    ('rates', 'int_brief_rates',
     [
        'as_of_date', 'days_since_as_of', 'is_stale', 'dgs2', 'effr', 'spread_2y_effr',
        'dgs2_as_of', 'effr_as_of', 'source', 'is_synthetic'
     ],
     {
        'subject_name': "'2-year Treasury yield minus EFFR (proxy)'"
     }),
    ('event', 'int_brief_events',
     [
        'event_date', 'event_kind', 'event_text', 'event_source', 'event_label',
        'effective_date', 'announcement_date', 'known_from', 'is_upcoming'
     ],
     {
        'subject_name': 'event_kind', 'as_of_date': 'known_from'
     }),
    ('quarantined_row', 'int_brief_quarantined_rows',
     [
        'subject_name', 'quarantined_date', 'quarantined_column', 'quarantined_value',
        'quarantine_reason', 'quarantined_file', 'quarantined_line',
        'quarantine_kept_column', 'quarantine_kept_value', 'source', 'is_synthetic'
     ],
     {
        'fact_rank': 'quarantine_rank', 'symbol': 'subject', 'as_of_date': 'applies_from'
     }),
] %}
{%- for kind, model, same, renamed in fact_models %}
{%- set values = {'brief_date': 'brief_date', 'fact_kind': "'" ~ kind ~ "'"} %}
{%- for column in same %}{% do values.update({column: column}) %}{% endfor %}
{%- do values.update(renamed) %}
select {{ brief_select(values) }}
from {{ ref(model) }}
{{ from_the_changed_date('brief_date') }}
{% if not loop.last %}union all{% endif %}
{%- endfor %}
