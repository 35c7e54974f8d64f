#!/usr/bin/env python3
"""BuildFarm side-by-side benchmarks. Started by bench/run.sh (which installs the peers first).

Starts a local registry with the base images, dockerd (BuildKit) on a private socket, and runs
each scenario cold / warm / late on every builder, N repeats, then writes a Markdown table of
medians to bench/results/. Never invents a number: a row that could not be measured says why.
"""
import argparse
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cluster  # noqa: E402
import concurrency  # noqa: E402
import infra  # noqa: E402
from builders import BuildError, BuildFarm, BuildFarmEngine, BuildKit, Buildah, runc_bare  # noqa: E402
from infra import log, sh  # noqa: E402

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(BENCH)
SCENARIOS = ["single12", "cpu3", "debian", "coldbase", "fanin30", "copy20k", "run50", "conc8"]
SPECIAL = ["run50", "conc8"]  # not cold/warm/late rows of the medians table
PER_RUN = ["run1", "run50", "run50w"]  # what the run50 scenario runs
DESCRIPTIONS = {
    "single12": "12-step single-stage Dockerfile (busybox)",
    "cpu3": "3 CPU-bound independent stages + COPY --from of each",
    "debian": "Debian minbase base (debootstrap), useradd/dpkg/chown steps",
    "coldbase": "Debian minbase base alone: pull + unpack, one RUN, one COPY",
    "conc8": "8 identical builds submitted at once (bench/lib/concurrency.py)",
    "fanin30": "30-stage fan-in (30 stages, 30 COPY --from)",
    "copy20k": "COPY of a 20,000-file context",
    "run50": "50 `RUN true` steps (per-RUN overhead)",
    "run1": "baseline for run50: 1 `RUN true`",
    "run50w": "50 `RUN echo i > /stepi` steps (each layer differs)",
}
PHASES = ["cold", "warm", "late"]
RETRIES = int(os.environ.get("BENCH_RETRIES", "1"))


def fmt(x):
    if x is None:
        return "—"
    return f"{x:.3f}" if x < 1 else f"{x:.2f}"


def median(xs):
    return statistics.median(xs) if xs else None


def machine():
    mem = next((l.split()[1] for l in open("/proc/meminfo") if l.startswith("MemTotal")), "?")
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    cg = "v2" if os.path.exists("/sys/fs/cgroup/cgroup.controllers") else "v1"
    deb = open("/etc/debian_version").read().strip() if os.path.exists("/etc/debian_version") else "?"
    return {"nproc": os.cpu_count(), "memory": f"{int(mem) / 1048576:.1f} GiB", "cpu": cpu,
            "kernel": platform.release(), "debian": deb, "cgroup": cg,
            "loadavg": open("/proc/loadavg").read().split()[:3]}


class Run:
    def __init__(self, args, tmp):
        self.args, self.tmp = args, tmp
        self.results = {}   # scenario -> phase -> builder key -> [seconds]
        self.errors = {}    # scenario -> phase -> builder key -> message
        self.notes = []

    def record(self, s, phase, key, value=None, error=None):
        if error is not None:
            self.errors.setdefault(s, {}).setdefault(phase, {})[key] = error
        else:
            self.results.setdefault(s, {}).setdefault(phase, {}).setdefault(key, []).append(value)

    def context(self, s, registry):
        sdir = os.path.join(BENCH, "scenarios", s)
        ctx = os.path.join(self.tmp, "ctx", s)
        shutil.rmtree(ctx, ignore_errors=True)
        os.makedirs(ctx)
        env = dict(os.environ, QUICK="1" if self.args.quick else "0")
        sh(["sh", os.path.join(sdir, "gen.sh"), ctx], env=env, timeout=600)
        text = open(os.path.join(sdir, "Dockerfile")).read().replace("@REGISTRY@", registry.addr)
        df = os.path.join(ctx, "Dockerfile")
        with open(df, "w") as f:
            f.write(text)
        late = os.path.join(ctx, open(os.path.join(sdir, "late")).read().strip())
        return ctx, df, late

    def attempt(self, b, s, r, phase, build, before=None):
        """One timed build; a failed build is retried (BENCH_RETRIES, default 1) and the failure noted.
        For a cold build the builder is reset again first, so the retry is still cold."""
        for i in range(RETRIES + 1):
            if before:
                before()
            try:
                t = build()
                if i:
                    self.notes.append(f"{b.name} {s} {phase} (repeat {r + 1}): {i} failed attempt(s) before this one; "
                                      f"the time counted is the successful attempt's. Failure: {first}")
                return t
            except BuildError as e:
                if i == RETRIES:
                    raise BuildError(f"{e} [{i + 1} attempts]") from None
                first = e
                log(f"{s:9} r{r} {b.name:9} {phase} failed, retrying: {e}")

    def scenario(self, s, builders, registry, phases):
        ctx, df, late = self.context(s, registry)
        original = open(late).read()
        n = len(builders)
        for r in range(self.args.repeats):
            order = builders[r % n:] + builders[:r % n] if n else []
            for b in order:
                tag = f"bench-{s}:{b.key}"
                phase = "cold"
                try:
                    t = self.attempt(b, s, r, "cold", lambda: b.build(ctx, df, tag, f"{s}-r{r}-cold"), b.reset)
                    self.record(s, "cold", b.key, t)
                    log(f"{s:9} r{r} {b.name:9} cold {t:7.3f}s")
                    if "warm" in phases:
                        phase = "warm"
                        t = self.attempt(b, s, r, "warm", lambda: b.build(ctx, df, tag, f"{s}-r{r}-warm"))
                        self.record(s, "warm", b.key, t)
                        log(f"{s:9} r{r} {b.name:9} warm {t:7.3f}s")
                    if "late" in phases:
                        phase = "late"
                        with open(late, "w") as f:
                            f.write(original + f"changed in repeat {r} for {b.key}\n")
                        try:
                            t = self.attempt(b, s, r, "late", lambda: b.build(ctx, df, tag, f"{s}-r{r}-late"))
                        finally:
                            with open(late, "w") as f:
                                f.write(original)
                        self.record(s, "late", b.key, t)
                        log(f"{s:9} r{r} {b.name:9} late {t:7.3f}s")
                except BuildError as e:
                    log(f"{s:9} r{r} {b.name:9} {phase} FAILED: {e}")
                    self.record(s, phase, b.key, error=str(e))


def s3_rows(run, bf, registry):
    """Farm-only: the embedded default with the S3 store against the local-folder store.

    The S3 server is the cache helper's scripts/s3-server.sh (radosgw on 127.0.0.1, memstore); the store
    is chosen with BUILDFARM_CACHE=s3://<bucket>?endpoint=... and AWS_* keys (cache/ContentStoreOptions).
    Each cold build gets a new, empty bucket. Returns None when measured, else the reason it was not.
    """
    script = os.path.join(REPO, "scripts", "s3-server.sh")
    if not bf.available:
        return "BuildFarm cannot build yet (see Notes)"
    if not os.path.exists(script):
        return "scripts/s3-server.sh (the cache helper's S3 server) is not on this branch yet"
    for tool in ("radosgw", "ceph-mon", "ceph-osd"):
        if not shutil.which(tool):
            return f"{tool} is not installed (scripts/install-deps.sh installs the S3 server's packages)"
    port = infra.free_port()
    ak, sk = "benchaccesskey000000", "benchsecretkey00000000000000000000000000"
    env = dict(os.environ, S3_DIR=os.path.join(run.tmp, "s3"), S3_PORT=str(port),
               S3_MON_PORT=str(infra.free_port()), S3_MON_V1_PORT=str(infra.free_port()), S3_STORE="memstore",
               S3_ACCESS_KEY=ak, S3_SECRET_KEY=sk, S3_OWNER_PID=str(os.getpid()))
    with open(os.path.join(run.tmp, "s3.env"), "w") as f:  # for run.sh's trap
        f.write(f"S3_DIR={env['S3_DIR']}\n")
    try:
        sh(["bash", script, "start"], env=env, timeout=600)
    except RuntimeError as e:
        return f"scripts/s3-server.sh start failed: {e}"
    try:
        s3 = BuildFarm(run.tmp, bf.logdir, REPO, home_name="buildfarm-home-s3")
        s3.key, s3.name = "buildfarm_s3", "BuildFarm (S3 store)"
        s3.env.update(AWS_ACCESS_KEY_ID=ak, AWS_SECRET_ACCESS_KEY=sk)
        buckets = iter(range(1, 10000))
        base_reset = s3.reset

        def reset():
            base_reset()
            s3.env["BUILDFARM_CACHE"] = f"s3://bench-{next(buckets)}?endpoint=http://127.0.0.1:{port}"
        s3.reset = reset
        ctx, df, _ = run.context("single12", registry)
        for r in range(run.args.repeats):
            for b in (bf, s3):
                phase = "cold"
                try:
                    run.record("s3-vs-local", "cold", b.key,
                               run.attempt(b, "s3", r, "cold", lambda: b.build(ctx, df, "bench-s3", f"s3-r{r}-cold"), b.reset))
                    phase = "warm"
                    run.record("s3-vs-local", "warm", b.key,
                               run.attempt(b, "s3", r, "warm", lambda: b.build(ctx, df, "bench-s3", f"s3-r{r}-warm")))
                except BuildError as e:
                    run.record("s3-vs-local", phase, b.key, error=str(e))
        run.notes.append("S3 row: single12 with BUILDFARM_CACHE=s3://<new bucket per repeat>?endpoint=http://127.0.0.1:"
                         f"{port} on radosgw (memstore) from scripts/s3-server.sh.")
    finally:
        sh(["bash", script, "stop"], env=env, check=False, timeout=120)
    return None


def timeline(path):
    """Phases of one build from its .times file: until the first output line (process start, engine
    start, reading the Dockerfile), the steps (first to last step line), the export (last step line to
    the last line), and the exit after the last line."""
    try:
        rows = [l.rstrip("\n").split("\t", 1) for l in open(path + ".times", errors="replace")]
    except OSError:
        return None
    rows = [(float(t), x) for t, x in rows if x]
    if len(rows) < 2:
        return None
    step = [t for t, x in rows if re.match(r"#[1-9]\d* ", x)]
    first, end = rows[0][0], rows[-1][0]
    last_line = rows[-2][0]
    if not step:
        return f"first output after {fmt(first)} s, exit at {fmt(end)} s"
    return (f"first output line after {fmt(first)} s (process + engine start, Dockerfile, base image metadata); "
            f"step lines from {fmt(step[0])} s to {fmt(step[-1])} s; export/naming until {fmt(last_line)} s; "
            f"process exit at {fmt(end)} s")


def steps_from_log(path):
    """(seconds, step name) from a BuildKit-style plain progress log ('#N NAME' first, then '#N DONE 1.2s')."""
    names, durs = {}, {}
    for line in open(path, errors="replace"):
        m = re.match(r"#(\d+) (?!DONE|CACHED|ERROR)(.+)", line)
        if m and m.group(1) not in names and m.group(1) != "0":
            names[m.group(1)] = m.group(2).strip()
        m = re.match(r"#(\d+) DONE ([\d.]+)s", line)
        if m:
            durs[m.group(1)] = float(m.group(2))
    return sorted(((d, names.get(k, f"#{k}")) for k, d in durs.items()), reverse=True)


def report(run, builders, bare, extras, started, finished, versions, mach):
    args = run.args
    keys = [b.key for b in builders]
    by = {b.key: b for b in builders}
    now = datetime.datetime.now(datetime.timezone.utc)
    L = [f"# BuildFarm side-by-side benchmarks — {now:%Y-%m-%d %H:%M} UTC", ""]
    if args.quick:
        L += ["**--quick run: 1 repeat, smaller contexts; for checking the harness, not for conclusions.**", ""]
    L += ["## Machine", "",
          f"- {mach['nproc']} CPUs ({mach['cpu']}), {mach['memory']} memory, kernel {mach['kernel']}, "
          f"Debian {mach['debian']}, cgroup {mach['cgroup']}",
          f"- load average at start {' '.join(mach['loadavg'])}, after the scenario rows "
          f"{' '.join(mach.get('loadavg_rows', ['?']))} (their own builds count in it), at the end "
          f"{' '.join(open('/proc/loadavg').read().split()[:3])} (after the cluster rows, which start many processes "
          "themselves); the machine may be shared: read small differences as noise",
          f"- repeats: {args.repeats} (median shown); wall time of the whole run {finished - started:.0f} s", ""]
    # Not the end's figure: the bench's own cluster rows raise it (many processes on 2 CPUs), not other work.
    peak = max(float(mach["loadavg"][0]), float(mach.get("loadavg_rows", mach["loadavg"])[0]))
    if peak > 1.5 * mach["nproc"]:
        L += [f"**The machine was loaded (load average up to {peak:.1f} on {mach['nproc']} CPUs; the benchmark's own "
              "builds count in it — conc8 runs 8 at once — and other work may have run beside it): absolute times are "
              "inflated and noisy; compare builders within a row.**", ""]
    L += ["## Builders", ""] + [f"- **{by[k].name}**: {versions[k]}" for k in keys] + [
        f"- registry: {versions['registry']}; base images pushed with {versions['skopeo']} / {versions['umoci']}", ""]

    footnotes = []

    def note(text):
        if text not in footnotes:
            footnotes.append(text)
        return f"[{footnotes.index(text) + 1}]"

    def cell(s, phase, k):
        b = by.get(k)
        name = b.name if b else {"buildfarm_s3": "BuildFarm (S3 store)"}.get(k, k)
        if b is not None and not b.available:
            return "n/m " + note(f"{b.name}: not measured: {b.reason}")
        v = median(run.results.get(s, {}).get(phase, {}).get(k, []))
        err = run.errors.get(s, {}).get(phase, {}).get(k)
        if v is None and err:
            return "failed " + note(f"{name} {s} {phase}: {err}")
        if v is None:
            return "—"
        return fmt(v) + (" " + note(f"{name} {s} {phase}: some repeats failed: {err}") if err else "")

    def ratio(s, phase, k, ref):
        a = median(run.results.get(s, {}).get(phase, {}).get(k, []))
        c = median(run.results.get(s, {}).get(phase, {}).get(ref, []))
        return f"{a / c:.2f}×" if a and c else "—"

    peers = [k for k in keys if k != "buildfarm"]
    L += ["## Medians (seconds, wall time of the user's build command)", "",
          "| scenario | phase | " + " | ".join(by[k].name for k in keys) + " | "
          + " | ".join(f"BuildFarm/{by[k].name}" for k in peers) + " |",
          "|---|---|" + "---:|" * (len(keys) + len(peers))]
    for s in run.args.scenarios:
        if s in SPECIAL:
            continue
        for phase in PHASES:
            L.append(f"| {s}: {DESCRIPTIONS[s]} | {phase} | " + " | ".join(cell(s, phase, k) for k in keys)
                     + " | " + " | ".join(ratio(s, phase, "buildfarm", k) for k in peers) + " |")
    L.append("")
    if "concurrency" in extras:
        L += extras["concurrency"]["markdown"]

    per_run, per_run_w = {}, {}
    if "run50" in run.args.scenarios:
        L += ["## Per-RUN overhead (farm-only target; peers shown for context)", "",
              "Cold build of 50 `RUN true` minus cold build of 1 `RUN true`, divided by 49; against a bare "
              "`runc run` of the same busybox rootfs (sequential, median of "
              f"{len(bare) if isinstance(bare, list) else 0} runs).", "",
              "| | " + " | ".join(by[k].name for k in keys) + " | bare `runc run` |",
              "|---|" + "---:|" * (len(keys) + 1)]
        for k in keys:
            a = median(run.results.get("run50", {}).get("cold", {}).get(k, []))
            w = median(run.results.get("run50w", {}).get("cold", {}).get(k, []))
            c = median(run.results.get("run1", {}).get("cold", {}).get(k, []))
            per_run[k] = (a - c) / 49 if a is not None and c is not None else None
            per_run_w[k] = (w - c) / 49 if w is not None and c is not None else None
        bare_m = median(bare) if isinstance(bare, list) else None
        bare_cell = fmt(bare_m) if bare_m is not None else "n/m " + note(f"bare runc: {bare}")
        L.append("| 1 × RUN true, cold | " + " | ".join(cell("run1", "cold", k) for k in keys) + " | — |")
        L.append("| 50 × RUN true, cold | " + " | ".join(cell("run50", "cold", k) for k in keys) + " | — |")
        L.append("| seconds per RUN step | " + " | ".join(fmt(per_run[k]) for k in keys) + " | " + bare_cell + " |")
        L.append("| ratio to bare runc | " + " | ".join(
            f"{per_run[k] / bare_m:.2f}×" if per_run[k] is not None and bare_m else "—" for k in keys) + " | 1.00× |")
        if run.results.get("run50w") or run.errors.get("run50w"):
            L.append("| 50 × RUN echo i > /stepi, cold | " + " | ".join(cell("run50w", "cold", k) for k in keys) + " | — |")
            L.append("| seconds per RUN step (run50w) | " + " | ".join(fmt(per_run_w[k]) for k in keys) + " | "
                     + bare_cell + " |")
            L.append("| ratio to bare runc (run50w) | " + " | ".join(
                f"{per_run_w[k] / bare_m:.2f}×" if per_run_w[k] is not None and bare_m else "—" for k in keys)
                + " | 1.00× |")
        L.append("")

    L += ["## Farm only: embedded default, S3 store vs local-folder store", ""]
    if extras.get("s3"):
        L += [f"not measured: {extras['s3']}", ""]
    else:
        L += ["| scenario | phase | local folder | S3 | S3/local |", "|---|---|---:|---:|---:|"]
        for phase in ("cold", "warm"):
            a = median(run.results.get("s3-vs-local", {}).get(phase, {}).get("buildfarm", []))
            c = median(run.results.get("s3-vs-local", {}).get(phase, {}).get("buildfarm_s3", []))
            L.append(f"| single12 | {phase} | {cell('s3-vs-local', phase, 'buildfarm')} | "
                     f"{cell('s3-vs-local', phase, 'buildfarm_s3')} | " + (f"{c / a:.2f}×" if a and c else "—") + " |")
        L.append("")

    L += ["## Cluster (one coordinator + several workers, concurrent identical submissions)", ""]
    rendered = [row["markdown"] for row in extras.get("cluster", []) if "markdown" in row]
    L += rendered  # cluster.py renders its measured rows itself (tables)
    for row in extras.get("cluster", []) if not rendered else []:
        if "not_measured" in row:
            L.append(f"- {row['scenario']}: not measured: {row['not_measured']}")
        else:
            L.append(f"- {row}")
    L.append("")

    # targets (issue 16): as a user runs `buildfarm build` (the resident engine column when measured), and embedded
    L += ["## Targets", "", "| target | scenario | result |", "|---|---|---|"]
    bfa = by.get("buildfarm")
    user_key = "buildfarm_engine" if by.get("buildfarm_engine") is not None and by["buildfarm_engine"].available else "buildfarm"
    user_label = "as users run it (resident engine)" if user_key == "buildfarm_engine" else "embedded (no engine column measured)"
    missed = []
    for s in [x for x in run.args.scenarios if x not in SPECIAL]:
        for key, phase, limit, label in ((user_key, "warm", 1.0, f"warm ≤ 1.0× BuildKit, {user_label}"),
                                         (user_key, "late", 1.0, f"late ≤ 1.0× BuildKit, {user_label}"),
                                         (user_key, "cold", 1.1, f"cold ≤ 1.1× BuildKit, {user_label}"),
                                         ("buildfarm", "warm", 2.0, "embedded (`--embedded`) warm ≤ 2× BuildKit")):
            b = by.get(key)
            a = median(run.results.get(s, {}).get(phase, {}).get(key, []))
            c = median(run.results.get(s, {}).get(phase, {}).get("buildkit", []))
            if b is None or not b.available:
                res = "not measured: " + ("BuildFarm cannot build yet (see Notes)" if b else "builder not selected")
            elif a is None or c is None:
                res = "not measured: " + ("BuildFarm build failed" if a is None else "BuildKit build failed")
            else:
                ok = a <= limit * c
                res = f"{'met' if ok else 'MISSED'}: {a / c:.2f}× ({fmt(a)} s vs {fmt(c)} s)"
                if not ok and key == "buildfarm":
                    missed.append((s, phase))
            L.append(f"| {label} | {s} | {res} |")
    if "concurrency" in extras:
        for kind, label in (("engine", "as users run it: native client, resident engine"),
                            ("serve", "managed client through one `serve --listen`"), ("embedded", "embedded processes")):
            sm = concurrency.summary(extras["concurrency"]["rows"], kind)
            if sm is None:
                res = "not measured: " + ("; ".join(extras["concurrency"]["rows"].get(kind, {}).get("failed", [])) or "not run")
            else:
                ok = sm[2] <= 1.2 and sm[3] <= concurrency.DISTINCT_RUNS
                res = (f"{'met' if ok else 'MISSED'}: {sm[2]:.2f}× one build ({sm[1]:.2f} s vs {sm[0]:.2f} s), "
                       f"RUNs executed {sm[3]} of {concurrency.DISTINCT_RUNS} distinct")
            L.append(f"| 8 identical concurrent builds ≤ 1.2× one build, each distinct step once ({label}) | conc8 | {res} |")
    if "run50" in run.args.scenarios:
        bare_m = median(bare) if isinstance(bare, list) else None
        if bfa is None or not bfa.available:
            res = "not measured: " + ("BuildFarm cannot build yet (see Notes)" if bfa else "BuildFarm not selected")
        elif not bare_m:
            res = "not measured: the bare runc run failed"
        else:
            res = []
            for sc, pr in (("run50", per_run.get("buildfarm")), ("run50w", per_run_w.get("buildfarm"))):
                if pr is None:
                    if sc == "run50" or run.results.get("run50w") or run.errors.get("run50w"):
                        res.append(f"{sc}: not measured (a BuildFarm {sc}/run1 build failed, see Notes)")
                    continue
                ok = pr <= 1.3 * bare_m
                res.append(f"{sc}: {'met' if ok else 'MISSED'}: {pr / bare_m:.2f}× ({fmt(pr)} s vs {fmt(bare_m)} s)")
                if not ok:
                    missed.append((sc, "cold"))
            res = "; ".join(res)
        L.append(f"| per-RUN overhead within 1.3× a bare runc run | run50, run50w | {res} |")
    L.append("")

    L += ["## Where the time goes", ""]
    if bfa is None or not bfa.available:
        L += ["Nothing to explain yet: BuildFarm was not measured.", ""]
    else:
        L.append(f"- BuildFarm process start (`dotnet buildfarm.dll --help`): {fmt(extras.get('startup'))} s, "
                 "paid by every build (BuildKit's client is a Go binary talking to a running daemon).")
        if bfa.fixed:
            L.append(f"- BuildFarm fixed cost of one build: a warm rebuild of `FROM scratch` + `COPY hello.txt /` takes "
                     f"{fmt(median(bfa.fixed))} s (median of {len(bfa.fixed)}): process start, the embedded engine's start "
                     "and stop, planning, export — paid by `--embedded` builds only: the resident engine (the users' "
                     "default) is already running, as BuildKit's dockerd is.")
        for s, phase in missed:
            logs = sorted(x for x in os.listdir(bfa.logdir) if x.startswith("buildfarm-") and f"-{s}-" in x
                          and x.endswith(f"-{phase}.log"))
            if not logs:
                continue
            steps = steps_from_log(os.path.join(bfa.logdir, logs[-1]))[:5]
            tl = timeline(os.path.join(bfa.logdir, logs[-1]))
            if tl:
                L.append(f"- {s} {phase}: timeline of the last BuildFarm build: {tl}")
                bk = sorted(x for x in os.listdir(bfa.logdir) if x.startswith("buildkit-") and f"-{s}-" in x
                            and x.endswith(f"-{phase}.log"))
                tk = timeline(os.path.join(bfa.logdir, bk[-1])) if bk else None
                if tk:
                    L.append(f"  - BuildKit's, for comparison (the docker CLI prints progress in batches, so its line "
                             f"times are late): {tk}")
            if steps:
                L.append(f"- {s} {phase}: slowest steps in the last BuildFarm log: "
                         + "; ".join(f"{n} {fmt(d)} s" for d, n in steps))
        L.append("")

    if footnotes or run.notes:
        L += ["## Notes", ""] + [f"{i + 1}. {t}" for i, t in enumerate(footnotes)] + [f"- {n}" for n in run.notes] + [""]
    L += ["## How this was measured", "",
          "`bench/run.sh` (see bench/README.md). Each repeat: reset the builder to empty (cold), build; build "
          "again unchanged (warm); change one file near the end of the Dockerfile's inputs and build (late). "
          "Builders run in rotating order within a repeat. Base images come from a docker-registry on 127.0.0.1; "
          "all builds run without network (`--network=none` / `--network none`).", ""]
    return "\n".join(L)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="1 repeat, smaller contexts")
    ap.add_argument("--repeats", type=int, default=None)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS))
    ap.add_argument("--builders", default="buildfarm,buildkit,buildah")
    ap.add_argument("--out", default=None, help="results file (default bench/results/<date>[-quick].md)")
    ap.add_argument("--tmp", default=os.environ.get("BENCH_TMP"))
    ap.add_argument("--no-extras", action="store_true",
                    help="skip the cluster, S3 and start-up rows (to check a few scenarios' rows quickly)")
    args = ap.parse_args()
    args.repeats = args.repeats or (1 if args.quick else 3)
    args.scenarios = [s for s in args.scenarios.split(",") if s]
    for s in args.scenarios:
        if s not in SCENARIOS:
            ap.error(f"unknown scenario {s}; known: {', '.join(SCENARIOS)}")
    wanted = [b for b in args.builders.split(",") if b]
    tmp = args.tmp or __import__("tempfile").mkdtemp(prefix="bfbench.")
    logdir = os.environ.get("BENCH_LOGS") or os.path.join(
        infra.CACHE, "logs", datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S"))
    os.makedirs(logdir, exist_ok=True)
    started = time.time()
    mach = machine()
    procs = infra.Procs(tmp)
    builders = []

    def on_signal(sig, _frame):
        raise SystemExit(f"stopped by signal {sig}")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    run = Run(args, tmp)
    try:
        registry = infra.Registry(procs, tmp)
        registry.start()
        infra.push_bases(registry, tmp)
        if "buildfarm" in wanted:
            bf = BuildFarm(tmp, logdir, REPO)
            bf.smoke(os.path.join(tmp, "ctx"))
            log(f"BuildFarm: {'available' if bf.available else 'not measured: ' + bf.reason}")
            builders.append(bf)
        if "buildfarm_engine" in wanted:
            engine = BuildFarmEngine(tmp, logdir, REPO)
            engine.smoke(os.path.join(tmp, "ctx"))
            log(f"BuildFarm (resident engine): {'available' if engine.available else 'not measured: ' + engine.reason}")
            builders.append(engine)
        if "buildkit" in wanted:
            builders.append(BuildKit(tmp, logdir, procs))
        if "buildah" in wanted:
            builders.append(Buildah(tmp, logdir))
        versions = {b.key: (b.version() if b.available else "not available: " + b.reason) for b in builders}
        versions["registry"] = sh(["docker-registry", "--version"], check=False).stdout.strip()
        versions["skopeo"] = sh(["skopeo", "--version"], check=False).stdout.strip()
        versions["umoci"] = sh(["umoci", "--version"], check=False).stdout.strip()
        live = [b for b in builders if b.available]
        extras = {}
        for s in args.scenarios:
            if s == "conc8":
                extras["concurrency"] = concurrency.run(run, live, registry, procs, logdir)
            elif s == "run50":
                for sub in PER_RUN:
                    run.scenario(sub, live, registry, ["cold"])
            else:
                run.scenario(s, live, registry, PHASES)
        # The rows' own load: the cluster and S3 rows after them start many processes and raise the end's figure.
        mach["loadavg_rows"] = open("/proc/loadavg").read().split()[:3]
        bare = "not run"
        if "run50" in args.scenarios:
            try:
                bare = runc_bare(infra.busybox_bundle(tmp), 20 if args.quick else 50)
                log(f"bare runc run: median {median(bare):.3f}s")
            except RuntimeError as e:
                bare = str(e)
        if not args.no_extras:
            extras["cluster"] = cluster.run({"repo": REPO, "tmp": tmp, "registry": registry, "logdir": logdir,
                                             "quick": args.quick})
        bf = next((b for b in builders if b.key == "buildfarm"), None)
        if args.no_extras:
            extras["s3"] = "skipped (--no-extras)"
        elif bf is not None:
            extras["s3"] = s3_rows(run, bf, registry)
            if bf.available:
                extras["startup"] = median([bf.startup_seconds() for _ in range(3)])
        else:
            extras["s3"] = "BuildFarm not selected (--builders)"
        finished = time.time()
        md = report(run, builders, bare, extras, started, finished, versions, mach)
        date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        out = args.out or os.path.join(BENCH, "results", f"{date}{'-quick' if args.quick else ''}.md")
        os.makedirs(os.path.dirname(out), exist_ok=True)
        with open(out, "w") as f:
            f.write(md)
        with open(out[:-3] + ".json", "w") as f:
            json.dump({"machine": mach, "versions": versions, "results": run.results, "errors": run.errors,
                       "bare_runc": bare, "extras": {k: (v if k != "concurrency" else v["rows"]) for k, v in extras.items() if k != "cluster"},
                       "args": vars(args)}, f, indent=1, default=str)
        print(md)
        log(f"wrote {out} (build logs in {logdir})")
    finally:
        for b in builders:
            try:
                if hasattr(b, "close") and b.available:
                    b.close()
            except Exception as e:  # noqa: BLE001
                log(f"closing {b.name}: {e}")
        procs.stop_all()
        infra.unmount_under(tmp)


if __name__ == "__main__":
    main()
