"""Case File Audit Warehouse: ingestion, Dagster definitions, publishing and the `cfa` command."""
