{#- None of the listed columns is null. One query per model instead of one per column: a
    failing row names the column and how many rows are null in it. -#}
{% test not_null_columns(model, columns) %}
select column_name, null_rows
from (
    {%- for column in columns %}
    select '{{ column }}' as column_name, count(*) filter (where {{ column }} is null) as null_rows
    from {{ model }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
)
where null_rows > 0
{% endtest %}
