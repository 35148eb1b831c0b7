{#- column_name <= other_column on every row where both are present. -#}
{% test not_after(model, column_name, other_column) %}
select *
from {{ model }}
where {{ column_name }} is not null
  and {{ other_column }} is not null
  and {{ column_name }} > {{ other_column }}
{% endtest %}
