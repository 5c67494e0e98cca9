"""What `cfa run` says about the quality gates: where the run's Data Docs are, and each failed
expectation by name."""

from __future__ import annotations

SHOWN_FAILURES = 10
MART_GATE = "meets_its_quality_gate"


def quality_gate_lines(result) -> list[str]:
    """Lines for the run summary from a run's result (an ExecuteInProcessResult)."""
    evaluations = [e for e in result.get_asset_check_evaluations() if e.check_name == MART_GATE]
    if not evaluations:
        return []
    failed = [e for e in evaluations if not e.passed]
    docs = next((e.metadata["data_docs"].value for e in evaluations if "data_docs" in e.metadata), None)
    where = f" (Great Expectations Data Docs: {docs})" if docs else ""
    if not failed:
        return [f"  quality gates:            passed: {len(evaluations)} BI marts{where}"]
    lines = [
        f"  quality gates:            FAILED: {len(failed)} of {len(evaluations)} BI marts, so nothing was published:"
        f" the last good warehouse and exports stand{where}"
    ]
    failures = [line for e in failed for line in e.metadata["failed_expectations"].value.splitlines() if line]
    lines += [f"    {line}" for line in failures[:SHOWN_FAILURES]]
    if len(failures) > SHOWN_FAILURES:
        lines.append(f"    ... and {len(failures) - SHOWN_FAILURES} more (see the Data Docs)")
    return lines
