-- The rows meant for raw.fred_observations that failed validation, one per bad row the
-- source delivered (warehouse/README.md, "Quarantined rows"); is_open until a later load resolves it.
{{ quarantined_rows_of('fred', 'fred_observations_quarantined', 'raw.fred_observations',
                       'series_id', 'fred_observations', 'value') }}
