import dagster as dg

# The tag's concurrency limit in dagster.yaml keeps two warehouse runs from overlapping.
WRITES_WAREHOUSE = {"cfa/writes-warehouse": "true"}

nightly_warehouse_job = dg.define_asset_job(
    name="nightly_warehouse",
    description="Load the landing folder, build and test the dbt project, write the error report, publish.",
    selection=dg.AssetSelection.all(),
    tags=WRITES_WAREHOUSE,
    # Every step writes the one DuckDB file, so they run one after another anyway; in one process
    # a daemon-launched run imports Dagster, dbt and Great Expectations once, not once per step.
    executor_def=dg.in_process_executor,
)
