{#- The configured (leader, laggard) pairs as rows. -#}
{% macro divergence_pairs_cte() -%}
    {%- set pairs = var('divergence_pairs') -%}
    {%- if pairs | length == 0 -%}
        {{ exceptions.raise_compiler_error("var divergence_pairs lists no (leader, laggard) pair") }}
    {%- endif -%}
    {%- for p in pairs %}
    select
        cast('{{ p.leader }}' as string)  as leader,
        cast('{{ p.laggard }}' as string) as laggard,
        cast('{{ p.leader }}/{{ p.laggard }}' as string) as pair_id
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- The column of int_running_peaks that holds `what` (record | drawdown) on `basis`. -#}
{% macro basis_column(basis, what, alias) -%}
    {%- if basis not in ['close', 'high'] -%}
        {{ exceptions.raise_compiler_error("basis must be 'close' or 'high', got '" ~ basis ~ "'") }}
    {%- endif -%}
    {%- if what == 'record' -%}{{ alias }}.is_record_{{ basis }}
    {%- elif what == 'drawdown' -%}{{ alias }}.drawdown_{{ basis }}
    {%- else -%}{{ exceptions.raise_compiler_error("unknown basis column " ~ what) }}
    {%- endif -%}
{%- endmacro %}

{#- The configured pairs' instruments as a SQL list of literals ('^RUT', 'BTC-USD', ...), for
    a filter every engine applies in the scan itself. -#}
{% macro divergence_pair_symbols() -%}
    {%- set symbols = [] -%}
    {%- for p in var('divergence_pairs') -%}
        {%- for s in [p.leader, p.laggard] if s not in symbols -%}
            {%- do symbols.append(s) -%}
        {%- endfor -%}
    {%- endfor -%}
    {%- for s in symbols %}'{{ s }}'{% if not loop.last %}, {% endif %}{% endfor -%}
{%- endmacro %}
