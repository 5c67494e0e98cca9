"""The Dagster definitions, split as in Dagster University's dbt course."""
