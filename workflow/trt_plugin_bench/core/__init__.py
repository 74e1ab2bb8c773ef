"""The configuration side, no GPU: schema, operator specs, the validated config and typed settings, the float64 oracle, table rows, statistics, provenance."""
