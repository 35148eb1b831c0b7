{#- The base rates' reference sets of start days (mart_outcome_base_rates), in order: name ->
    the condition on a row of fct_pair_forward_outcomes, and the definition a reader sees. -#}
{% macro outcome_reference_sets() -%}
    {%- set threshold = var('divergence_laggard_min_drawdown') -%}
    {%- set basis_words = {'close': 'record close', 'high': 'record intraday high'} -%}
    {%- set threshold_pct = (threshold * 100) | round(1) -%}
    {{ return({
        'all_days': {
            'condition': 'true',
            'definition': 'every leader trading date on which the laggard has a close too',
        },
        'leader_record': {
            'condition': 'is_leader_record',
            'definition': 'every such date on which the leader set a '
                ~ basis_words[var('divergence_leader_basis')] ~ ', as known that day',
        },
        'laggard_below_threshold': {
            'condition': 'is_laggard_below_threshold',
            'definition': 'every such date on which the laggard closed at least '
                ~ threshold_pct ~ ' % below its ' ~ basis_words[var('divergence_laggard_basis')]
                ~ ', as known that day',
        },
    }) }}
{%- endmacro %}

{#- The word a p-value earns (vars outcome_verdicts, outcome_verdict_otherwise), as a SQL
    expression: the first rule that holds; null when p is null (no known outcome). `n` is
    the number of known outcomes the test used. -#}
{% macro outcome_verdict(p_value, n) -%}
    case
        when {{ p_value }} is null then cast(null as string)
        {%- for rule in var('outcome_verdicts') %}
        when {{ p_value }} < {{ rule.p_below }}
            {%- if rule.needs_min_episodes %} and {{ n }} >= {{ var('outcome_min_episodes') }}{% endif %}
            then cast('{{ rule.verdict }}' as string)
        {%- endfor %}
        else cast('{{ var('outcome_verdict_otherwise') }}' as string)
    end
{%- endmacro %}

{#- The same rules as a sentence (the verdict_rules column). -#}
{% macro outcome_verdict_rules_text() -%}
    {%- set parts = [] -%}
    {%- for rule in var('outcome_verdicts') -%}
        {%- do parts.append('"' ~ rule.verdict ~ '": p < ' ~ rule.p_below
            ~ (' and n >= ' ~ var('outcome_min_episodes') if rule.needs_min_episodes else '')) -%}
    {%- endfor -%}
    {%- do parts.append('else "' ~ var('outcome_verdict_otherwise') ~ '"') -%}
    cast('{{ parts | join("; ") }}' as string)
{%- endmacro %}

{#- A select of ln(m!) for m = 0..max_n (columns m, ln_factorial): the running sum of ln j
    over a number series (dbt.generate_series), for binomial_upper_tail. -#}
{% macro log_factorials(max_n=10000) -%}
    select
        m,
        sum(ln(case when m > 1 then m else 1 end)) over (
            order by m rows between unbounded preceding and current row
        ) as ln_factorial
    from (
        select generated_number - 1 as m
        from ({{ dbt.generate_series(max_n + 1) }}) as series
    ) as numbers
{%- endmacro %}

{#- A select of the exact one-sided binomial tail P(X >= k) for X ~ Binomial(n, p0), per row
    of `tests` (a relation or CTE with the columns `keys`, k, n and p0), as p_value:
        sum over i = k..n of C(n, i) p0^i (1 - p0)^(n - i)
    each term from the log-factorials in `log_factorials` (a CTE of log_factorials()), so
    nothing overflows. Null when n is null or 0 or p0 is null; 1 when k <= 0; 0 when k > n.
    Standard SQL (ln, exp, a sum), no engine's own statistics functions. A row with n beyond
    the log-factorials gets a null p_value, which the marts' not-null tests then report. -#}
{% macro binomial_upper_tail(tests, keys, log_factorials='log_factorials') -%}
    select
        {%- for key in keys %}
        t.{{ key }},
        {%- endfor %}
        case
            when t.n is null or t.n = 0 or t.p0 is null then cast(null as double)
            when t.k <= 0 then cast(1.0 as double)
            when t.k > t.n then cast(0.0 as double)
            when t.p0 <= 0 then cast(0.0 as double)
            when t.p0 >= 1 then cast(1.0 as double)
            when s.tail > 1 then cast(1.0 as double)
            else s.tail
        end as p_value
    from {{ tests }} as t
    left join (
        select
            {%- for key in keys %}
            t.{{ key }},
            {%- endfor %}
            sum(exp(fn.ln_factorial - fi.ln_factorial - fr.ln_factorial
                    + fi.m * ln(t.p0) + (t.n - fi.m) * ln(1 - t.p0))) as tail
        from {{ tests }} as t
        inner join {{ log_factorials }} as fi
            on fi.m between t.k and t.n and t.p0 > 0 and t.p0 < 1
        inner join {{ log_factorials }} as fn on fn.m = t.n
        inner join {{ log_factorials }} as fr on fr.m = t.n - fi.m
        group by {% for key in keys %}t.{{ key }}{% if not loop.last %}, {% endif %}{% endfor %}
    ) as s
        on {% for key in keys %}s.{{ key }} = t.{{ key }}{% if not loop.last %} and {% endif %}{% endfor %}
{%- endmacro %}

{#- What followed a set of start days (episode ends: mart_divergence_outcome_summary; any
    day: mart_outcome_base_rates), as aggregates over rows with the columns laggard_return
    and leader_return (null while the window is not stored), days_to_record (calendar days
    to the laggard's next record on its divergence basis, null while none), horizon_days and
    laggard_window_stored (the laggard's whole window is stored). Written once, so the base
    rates and the outcomes they are read against share every definition:
      n_known              both returns known
      n_laggard_beat       the laggard's return was higher than the leader's
      median_*_return      medians over the known outcomes
      n_record_known       it is known whether the laggard set a new record within the
                           horizon (it did, or its whole window is stored)
      n_laggard_record     it did -#}
{% macro outcome_statistics() -%}
        cast(sum(case when laggard_return is not null and leader_return is not null
                      then 1 else 0 end) as integer)                   as n_known,
        cast(sum(case when laggard_return > leader_return then 1 else 0 end) as integer)
                                                                       as n_laggard_beat,
        percentile_cont(0.5) within group (order by case
            when leader_return is not null then laggard_return end)    as median_laggard_return,
        percentile_cont(0.5) within group (order by case
            when laggard_return is not null then leader_return end)    as median_leader_return,
        cast(sum(case when days_to_record <= horizon_days or laggard_window_stored
                      then 1 else 0 end) as integer)                   as n_record_known,
        cast(sum(case when days_to_record <= horizon_days then 1 else 0 end) as integer)
                                                                       as n_laggard_record
{%- endmacro %}
