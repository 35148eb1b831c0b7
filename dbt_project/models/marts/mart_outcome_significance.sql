-- Is what followed a pair's divergences more than chance? Per pair and horizon: the
-- divergence outcomes (mart_divergence_outcome_summary: k of n episodes with a known
-- outcome, the laggard beat the leader) against the unconditional base rate p0 (the share
-- over every day both instruments have data: mart_outcome_base_rates, reference set
-- all_days), by the exact one-sided binomial tail P(X >= k | n, p0) (macro
-- binomial_upper_tail). It treats the n episodes as independent draws at the base rate:
-- one outcome per episode, not per divergent day, which keeps a burst of divergent days from
-- counting many times; but episodes of one pair can still cluster in time and their windows
-- overlap, so the randomised test (mart_outcome_randomised, which keeps their spacing) is
-- the check on that. The other two reference sets' shares stand beside it, so one row holds
-- the whole comparison the brief states. The verdict follows the rules of the vars
-- outcome_verdicts and outcome_verdict_otherwise (macro outcome_verdict), never a hand.
{%- set assumptions = 'the n episodes with a known outcome are independent draws, each with '
    ~ 'the laggard beating the leader at the unconditional base rate; the base rate is taken '
    ~ 'as known (it is estimated from overlapping windows of the same history)' %}
with summary as (
    select * from {{ ref('mart_divergence_outcome_summary') }}
),

base_rates as (
    select * from {{ ref('mart_outcome_base_rates') }}
),

tests as (
    select
        s.pair_id,
        s.horizon_days,
        s.n_laggard_beat                     as k,
        s.n_known                            as n,
        b.share_laggard_beat                 as p0
    from summary as s
    left join base_rates as b
        on b.pair_id = s.pair_id and b.horizon_days = s.horizon_days
        and b.reference_set = 'all_days'
),

log_factorials as (
    {{ log_factorials() }}
),

tails as (
    {{ binomial_upper_tail('tests', ['pair_id', 'horizon_days']) }}
)

select
    s.pair_id,
    s.leader,
    s.laggard,
    s.horizon_days,
    s.n_episodes,
    s.n_known,
    s.n_laggard_beat,
    s.share_laggard_beat,
    a.n_known                                                   as base_rate_n_known,
    a.n_laggard_beat                                            as base_rate_n_laggard_beat,
    a.share_laggard_beat                                        as base_rate_share,
    a.first_known_start_date                                    as base_rate_first_start_date,
    a.last_known_start_date                                     as base_rate_last_start_date,
    a.n_non_overlapping_windows                                 as base_rate_n_non_overlapping_windows,
    r.n_known                                                   as leader_record_n_known,
    r.share_laggard_beat                                        as leader_record_share,
    d.n_known                                                   as laggard_below_n_known,
    d.share_laggard_beat                                        as laggard_below_share,
    s.share_laggard_beat - a.share_laggard_beat                 as share_minus_base_rate,
    cast('exact binomial, one-sided' as string)                as method,
    cast('{{ assumptions }}' as string)                        as assumptions,
    t.p_value,
    {{ outcome_verdict('t.p_value', 's.n_known') }}             as verdict,
    {{ outcome_verdict_rules_text() }}                          as verdict_rules,
    s.is_anecdotal,
    s.min_episodes_for_pattern
from summary as s
left join base_rates as a
    on a.pair_id = s.pair_id and a.horizon_days = s.horizon_days and a.reference_set = 'all_days'
left join base_rates as r
    on r.pair_id = s.pair_id and r.horizon_days = s.horizon_days
    and r.reference_set = 'leader_record'
left join base_rates as d
    on d.pair_id = s.pair_id and d.horizon_days = s.horizon_days
    and d.reference_set = 'laggard_below_threshold'
left join tails as t on t.pair_id = s.pair_id and t.horizon_days = s.horizon_days
