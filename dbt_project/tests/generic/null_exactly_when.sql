{#- Unknown is not false: `column_name` is null on exactly the rows where `condition` holds
    (e.g. a flag is null exactly when the data it needs is missing). -#}
{% test null_exactly_when(model, column_name, condition) %}
select *
from {{ model }}
where ({{ column_name }} is null) <> coalesce(({{ condition }}), false)
{% endtest %}
