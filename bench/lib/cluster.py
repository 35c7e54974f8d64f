"""Hook for the cluster rows: one coordinator + several workers, concurrent identical submissions.

The multi-node work fills this in. What the rows should measure, once `buildfarm coordinator` and
`buildfarm worker` can form a cluster on 127.0.0.1:
  - start 1 coordinator + W workers (W = 2 and 4), one shared store (local folder or S3);
  - submit the same scenario (single12, cpu3) C times at once (C = 1, 4, 8) from separate clients;
  - report the wall time until all C finish (median over repeats), and how many times each step
    executed in the cluster (the dedupe claim: once per cache key, however many builds ask);
  - compare against C concurrent `docker build`s on one dockerd (BuildKit dedupes within a daemon).

run(ctx) returns rows: dicts with keys scenario, phase, and either seconds per builder or a
`not_measured` reason. Until the cluster exists it returns one row that says so.
"""


def available(repo):
    """True once the multi-node hosts exist. Fill in: e.g. check `buildfarm coordinator --help`."""
    return False, "multi-node not implemented yet"


def run(ctx):
    ok, reason = available(ctx["repo"])
    if not ok:
        return [{"scenario": "cluster: 1 coordinator + N workers, C concurrent identical builds",
                 "phase": "cold", "not_measured": reason}]
    raise NotImplementedError("cluster rows: see this module's docstring")
