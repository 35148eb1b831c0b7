{#- A model's grain: one row per combination of `columns`, and none of them null except
    those listed in `nullable`. A failing row names the combination and its row count. -#}
{% test grain(model, columns, nullable=[]) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{%- for column in columns if column not in nullable %}
    or {{ column }} is null
{%- endfor %}
{% endtest %}
