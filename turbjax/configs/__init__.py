"""Configs inside the package: `default` (the schema and its values) and `schema` (field names and the
training section's rules). Pure ml_collections; importing this imports no JAX."""
