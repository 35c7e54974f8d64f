#!/usr/bin/env python3
"""The cluster rows: BuildFarm as a farm of OS processes on 127.0.0.1 (issue #12 "Bench").

  - scaling: 1 coordinator with 1, 2, 3 workers (`--slots 1` each, so one worker is one unit of capacity) on
    `cpu3` and `fanin30`, cold (a new, empty store namespace and new worker homes each time): wall time of
    the client's `buildfarm build --server`, and the speed-up over 1 worker;
  - CI fan-out: 24 concurrent submissions of the 6 Dockerfiles of scenarios/fanout (4 each; they share their
    base stages) to 1 coordinator + 3 workers, against BuildKit building the same 24 at once on one dockerd:
    total wall time until all 24 are done, and the work done (BuildFarm: steps executed, summed from the workers'
    own counters, `buildfarm workers --format json`; both: RUNs executed, each execution printing a fresh UUID)
    against the distinct steps.

The store is the real S3 server (scripts/s3-server.sh, radosgw memstore); the nodes share one remoting
certificate (BUILDFARM_REMOTING_CERT). bench.py calls run(ctx); `bench/cluster.sh` runs only these rows and
writes bench/results/<date>-cluster.md (+ .json). A number is always a measurement; a row that could not be
measured says why.
"""
import base64
import datetime
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import infra  # noqa: E402
from infra import free_port, log, sh, unmount_under, wait_for  # noqa: E402

BENCH = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(BENCH)
WORKER_COUNTS = (1, 2, 3)
SCALING = ("cpu3", "fanin30")
FANOUT_KINDS = 6
FANOUT_COPIES = 4
FANOUT_WORKERS = 3
BUILD_TIMEOUT = int(os.environ.get("BENCH_BUILD_TIMEOUT", "900"))
S3_AK, S3_SK = "benchaccesskey000000", "benchsecretkey00000000000000000000000000"


def dll_path(repo):
    return os.path.join(repo, "out", "buildfarm", "buildfarm.dll")


def available(repo):
    """(True, "") when the hosts exist in the published CLI and the S3 server can run here."""
    dll = dll_path(repo)
    if not os.path.exists(dll):
        return False, f"{dll} was not built (bench/run.sh or bench/cluster.sh publish it)"
    for verb in ("coordinator", "worker", "workers"):
        p = subprocess.run(["dotnet", dll, verb, "--help"], capture_output=True, text=True)
        if p.returncode != 0:
            return False, f"`buildfarm {verb}` is not in this CLI yet ({(p.stderr or p.stdout).strip()[:120]})"
    if not os.path.exists(os.path.join(repo, "scripts", "s3-server.sh")):
        return False, "scripts/s3-server.sh is missing"
    for tool in ("radosgw", "ceph-mon", "ceph-osd"):
        if not shutil.which(tool):
            return False, f"{tool} is not installed (scripts/install-deps.sh)"
    return True, ""


class S3:
    """scripts/s3-server.sh (radosgw, memstore) on free loopback ports, for this run only."""

    def __init__(self, tmp):
        self.port = free_port()
        self.env = dict(os.environ, S3_DIR=os.path.join(tmp, "cluster-s3"), S3_PORT=str(self.port),
                        S3_MON_PORT=str(free_port()), S3_MON_V1_PORT=str(free_port()), S3_STORE="memstore",
                        S3_STORE_BYTES=str(6 << 30), S3_ACCESS_KEY=S3_AK, S3_SECRET_KEY=S3_SK,
                        S3_OWNER_PID=str(os.getpid()))
        self.script = os.path.join(REPO, "scripts", "s3-server.sh")
        with open(os.path.join(tmp, "s3.env"), "w") as f:  # for the shell wrapper's trap
            f.write(f"S3_DIR={self.env['S3_DIR']}\n")

    def start(self):
        sh(["bash", self.script, "start"], env=self.env, timeout=600)

    def stop(self):
        sh(["bash", self.script, "stop"], env=self.env, check=False, timeout=120)

    def spec(self, namespace):
        return f"s3://bench-cluster?endpoint=http://127.0.0.1:{self.port}&namespace={namespace}"


class Farm:
    """1 coordinator + N workers as OS processes, each with its own BUILDFARM_HOME under `root`."""

    def __init__(self, dll, root, store_spec, logdir, label):
        self.dll, self.root, self.logdir, self.label = dll, root, logdir, label
        os.makedirs(root, exist_ok=True)
        self.env = dict(os.environ, BUILDFARM_CACHE=store_spec, AWS_ACCESS_KEY_ID=S3_AK, AWS_SECRET_ACCESS_KEY=S3_SK,
                        DOTNET_CLI_TELEMETRY_OPTOUT="1", DOTNET_NOLOGO="1", CI="true")
        self.env.pop("BUILDFARM_HOME", None)
        cert = os.path.join(root, "farm-remoting.p12")
        sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-subj", "/CN=buildfarm-remoting", "-days", "2", "-keyout", cert + ".key", "-out", cert + ".crt"])
        sh(["openssl", "pkcs12", "-export", "-inkey", cert + ".key", "-in", cert + ".crt", "-out", cert,
            "-passout", "pass:"])
        os.chmod(cert, 0o600)
        self.env["BUILDFARM_REMOTING_CERT"] = cert
        self.nodes = []  # (name, Popen, log path)
        self.api = None
        self.seed = None

    def _start(self, name, args):
        home = os.path.join(self.root, name)
        os.makedirs(home, exist_ok=True)
        path = os.path.join(self.logdir, f"cluster-{self.label}-{name}.log")
        out = open(path, "w")
        p = subprocess.Popen(["dotnet", self.dll] + args, env=dict(self.env, BUILDFARM_HOME=home), stdout=out,
                             stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.nodes.append((name, p, path))
        with open(os.path.join(os.path.dirname(self.root), "pids"), "a") as f:  # the shell wrapper's trap ends them too
            f.write(f"{p.pid}\n")
        return p, path

    def _ready(self, p, path, prefix, timeout=90):
        def line():
            if p.poll() is not None:
                raise RuntimeError(f"{path}: exited {p.returncode} before ready: {open(path).read()[-600:]}")
            return next((l for l in open(path) if l.startswith(prefix)), None)
        wait_for(lambda: line() is not None, timeout, prefix)
        return line().split()

    def start(self, workers, slots=1):
        p, path = self._start("coordinator-0", ["coordinator", "--listen", f"127.0.0.1:{free_port()}",
                                                "--hostname", "127.0.0.1", "--remoting-port", str(free_port())])
        words = self._ready(p, path, "buildfarm coordinator ready:")
        self.api, self.seed = words[words.index("api") + 1], words[words.index("remoting") + 1]
        started = [self._start(f"worker-{i}", ["worker", "--slots", str(slots), "--hostname", "127.0.0.1",
                                               "--remoting-port", "0", "--seeds", self.seed])
                   for i in range(workers)]
        for p, path in started:
            self._ready(p, path, "buildfarm worker ready:")
        # the pool lists every worker once they registered: only then is the farm at full size
        wait_for(lambda: len(self.counters()) == workers, 60, f"{workers} workers registered")

    def counters(self):
        p = subprocess.run(["dotnet", self.dll, "workers", "--server", self.api, "--format", "json"],
                           env=self.env, capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"buildfarm workers failed: {p.stderr.strip()[-300:]}")
        return json.loads(p.stdout)

    def steps_executed(self):
        return sum(w["stepsExecuted"] for w in self.counters())

    def stop(self):
        for _, p, _ in reversed(self.nodes):
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for _, p, _ in reversed(self.nodes):
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        unmount_under(self.root)
        shutil.rmtree(self.root, ignore_errors=True)


def client_build(dll, api, ctx, dockerfile, logpath, home, progress="plain"):
    """One `buildfarm build --server`: (seconds, exit code, its output)."""
    env = dict(os.environ, BUILDFARM_HOME=home, CI="true", DOTNET_CLI_TELEMETRY_OPTOUT="1", DOTNET_NOLOGO="1")
    env.pop("BUILDFARM_CACHE", None)
    t0 = time.monotonic()
    try:
        p = subprocess.run(["dotnet", dll, "build", "--progress", progress, "--server", api, "-f", dockerfile, ctx],
                           env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
        rc, out = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out = "timeout", (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
    dt = time.monotonic() - t0
    with open(logpath, "w") as f:
        f.write(out)
    return dt, rc, out


def concurrently(jobs):
    """Runs the callables at the same moment; returns (wall seconds until the last ends, their results)."""
    results = [None] * len(jobs)

    def one(i):
        results[i] = jobs[i]()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(jobs))]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.monotonic() - t0, results


RAN = re.compile(r"ran (\S+) ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")


def run_executions(outputs):
    """RUNs that really executed: each prints `ran NAME UUID` (a fresh UUID per execution); a RUN whose output
    several builds show counts once. Reads plain progress and `--progress rawjson` (logs in base64)."""
    seen = set()
    for out in outputs:
        for line in out.splitlines():
            if line.startswith("{"):
                try:
                    e = json.loads(line)
                    line = base64.b64decode(e.get("log", "")).decode(errors="replace") if e.get("kind") == "LOG" else ""
                except ValueError:
                    continue
            seen.update(m.group(2) for m in RAN.finditer(line))
    return len(seen)


def distinct_steps(outputs):
    """{cache key: step name} of every step that finished (ran or cached) in `--progress rawjson` outputs: names
    repeat across Dockerfiles for different steps (`COPY --from=build /app /app`), keys do not."""
    steps = {}
    for out in outputs:
        for line in out.splitlines():
            if not line.startswith("{"):
                continue
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("kind") in ("COMPLETED", "CACHED") and e.get("stepId"):
                steps[e["stepId"]] = e.get("name", "")
    return steps


def scenario_context(name, tmp, registry, quick):
    sdir = os.path.join(BENCH, "scenarios", name)
    ctx = os.path.join(tmp, "cluster-ctx", name)
    shutil.rmtree(ctx, ignore_errors=True)
    os.makedirs(ctx)
    sh(["sh", os.path.join(sdir, "gen.sh"), ctx], env=dict(os.environ, QUICK="1" if quick else "0"), timeout=600)
    dockerfiles = []
    for f in sorted(os.listdir(sdir)):
        if f == "Dockerfile" or f.startswith("Dockerfile."):
            text = open(os.path.join(sdir, f)).read().replace("@REGISTRY@", registry.addr)
            path = os.path.join(ctx, f)
            with open(path, "w") as out:
                out.write(text)
            dockerfiles.append(path)
    return ctx, dockerfiles


def scaling_rows(ctx, s3, logdir, repeats):
    dll, rows = dll_path(ctx["repo"]), []
    for scenario in SCALING:
        context, (dockerfile,) = scenario_context(scenario, ctx["tmp"], ctx["registry"], ctx.get("quick", False))
        seconds = {}
        for workers in WORKER_COUNTS:
            times, errors = [], []
            for r in range(repeats):
                label = f"{scenario}-w{workers}-r{r}"
                farm = Farm(dll, os.path.join(ctx["tmp"], "farm-" + label), s3.spec("n" + label.replace("-", "")),
                            logdir, label)
                try:
                    farm.start(workers)
                    home = os.path.join(farm.root, "client")
                    dt, rc, out = client_build(dll, farm.api, context, dockerfile,
                                               os.path.join(logdir, f"cluster-{label}-client.log"), home)
                    if rc != 0:
                        errors.append(f"exit {rc}: {out.strip().splitlines()[-1] if out.strip() else 'no output'}")
                    else:
                        times.append(dt)
                        log(f"cluster {label}: {dt:.2f}s")
                except Exception as e:  # noqa: BLE001 - reported in the row
                    errors.append(str(e)[:300])
                finally:
                    farm.stop()
            seconds[workers] = statistics.median(times) if times else None
            row = {"scenario": f"cluster {scenario}", "phase": "cold", "workers": workers,
                   "seconds": seconds[workers], "repeats": len(times)}
            if errors:
                row["errors"] = errors
            if seconds[workers] and seconds.get(1):
                row["speedup"] = seconds[1] / seconds[workers]
            rows.append(row)
    return rows


def buildkit_fanout(ctx, logdir, context, dockerfiles):
    """The same 24 builds at once on one dockerd; RUNs executed, counted by the RUNs in their cache mount."""
    from builders import BuildKit
    # its own dockerd (data root under its own folder): bench.py's daemon, if any, keeps its state
    bk_tmp = os.path.join(ctx["tmp"], "cluster-buildkit")
    os.makedirs(bk_tmp, exist_ok=True)
    bk = BuildKit(bk_tmp, logdir, ctx["procs"])
    if not bk.available:
        return {"not_measured": bk.reason}
    bk.reset()

    def job(i, df):
        def go():
            path = os.path.join(logdir, f"cluster-fanout-buildkit-{i:02d}.log")
            t0 = time.monotonic()
            p = subprocess.run([bk.docker, "build", "--network=none", "--progress=plain", "-f", df,
                                "-t", f"fanout-{i}", context], env=bk.env, capture_output=True, text=True,
                               timeout=BUILD_TIMEOUT)
            with open(path, "w") as f:
                f.write(p.stdout + p.stderr)
            return time.monotonic() - t0, p.returncode
        return go
    jobs = [job(i, dockerfiles[i % len(dockerfiles)]) for i in range(FANOUT_KINDS * FANOUT_COPIES)]
    wall, results = concurrently(jobs)
    failed = sum(1 for _, rc in results if rc != 0)
    runs = run_executions([open(os.path.join(logdir, f"cluster-fanout-buildkit-{i:02d}.log")).read() for i in range(len(jobs))])
    return {"seconds": wall, "failed": failed, "runs_executed": runs, "version": bk.version()}


def fanout_rows(ctx, s3, logdir):
    dll = dll_path(ctx["repo"])
    context, dockerfiles = scenario_context("fanout", ctx["tmp"], ctx["registry"], ctx.get("quick", False))
    n = FANOUT_KINDS * FANOUT_COPIES
    row = {"scenario": f"cluster fan-out: {n} concurrent submissions of {FANOUT_KINDS} Dockerfiles sharing base stages",
           "phase": "cold", "workers": FANOUT_WORKERS}
    farm = Farm(dll, os.path.join(ctx["tmp"], "farm-fanout"), s3.spec("nfanout"), logdir, "fanout")
    try:
        farm.start(FANOUT_WORKERS)

        def job(i):
            return lambda: client_build(dll, farm.api, context, dockerfiles[i % len(dockerfiles)],
                                        os.path.join(logdir, f"cluster-fanout-buildfarm-{i:02d}.log"),
                                        os.path.join(farm.root, f"client-{i}"), progress="rawjson")
        wall, results = concurrently([job(i) for i in range(n)])
        steps = distinct_steps([out for _, _, out in results])
        row["buildfarm"] = {"seconds": wall, "failed": sum(1 for _, rc, _ in results if rc != 0),
                            "steps_executed": farm.steps_executed(), "distinct_steps": len(steps),
                            "runs_executed": run_executions([out for _, _, out in results]),
                            "distinct_run_steps": len([n for n in steps.values() if "] RUN " in n])}
        log(f"cluster fan-out BuildFarm: {row['buildfarm']}")
    except Exception as e:  # noqa: BLE001
        row["buildfarm"] = {"error": str(e)[:400]}
    finally:
        farm.stop()
    try:
        row["buildkit"] = buildkit_fanout(ctx, logdir, context, dockerfiles)
        log(f"cluster fan-out BuildKit: {row['buildkit']}")
    except Exception as e:  # noqa: BLE001
        row["buildkit"] = {"not_measured": str(e)[:400]}
    bf, bk = row["buildfarm"].get("seconds"), row["buildkit"].get("seconds")
    if bf and bk:
        row["ratio"] = bf / bk
    return [row]


def markdown(rows):
    """The cluster section: a scaling table and the fan-out table."""
    L = []
    scaling = [r for r in rows if "workers" in r and "buildfarm" not in r and "not_measured" not in r]
    if scaling:
        L += ["1 coordinator + N workers (`--slots 1` each), cold, store on S3 (radosgw): wall time of one "
              "`buildfarm build --server` (median), speed-up over 1 worker.", "",
              "| scenario | workers | seconds | speed-up vs 1 worker | notes |", "|---|---:|---:|---:|---|"]
        for r in scaling:
            s = f"{r['seconds']:.2f}" if r.get("seconds") else "failed"
            sp = f"{r['speedup']:.2f}×" if r.get("speedup") else "—"
            L.append(f"| {r['scenario']} | {r['workers']} | {s} | {sp} | {'; '.join(r.get('errors', []))[:300]} |")
        L.append("")
    for r in rows:
        if "buildfarm" not in r:
            continue
        bf, bk = r["buildfarm"], r["buildkit"]

        def cell(d, key):
            return d.get("error") or d.get("not_measured") or (f"{d[key]:.2f}" if isinstance(d.get(key), float) else str(d.get(key, "—")))
        L += [f"{r['scenario']} (BuildFarm: 1 coordinator + {r['workers']} workers, `--slots 1`; BuildKit: one dockerd).", "",
              "| | BuildFarm | BuildKit | BuildFarm/BuildKit |", "|---|---:|---:|---:|",
              f"| wall time until all done (s) | {cell(bf, 'seconds')} | {cell(bk, 'seconds')} | "
              + (f"{r['ratio']:.2f}×" if r.get("ratio") else "—") + " |",
              f"| failed builds | {cell(bf, 'failed')} | {cell(bk, 'failed')} | |",
              f"| steps executed (workers' counters) | {cell(bf, 'steps_executed')} | — | |",
              f"| RUN executions (distinct `ran NAME UUID` lines in the logs) | {cell(bf, 'runs_executed')} | "
              f"{cell(bk, 'runs_executed')} | |",
              f"| distinct steps / distinct RUN steps | {cell(bf, 'distinct_steps')} / {cell(bf, 'distinct_run_steps')} | "
              f"— / {cell(bf, 'distinct_run_steps')} | |", ""]
    for r in rows:
        if "not_measured" in r:
            L.append(f"- {r['scenario']}: not measured: {r['not_measured']}")
    return "\n".join(L)


def run(ctx):
    """Rows for bench.py (ctx: repo, tmp, registry; optional procs, logdir, quick, repeats)."""
    ok, reason = available(ctx["repo"])
    if not ok:
        return [{"scenario": "cluster: 1 coordinator + N workers; CI fan-out", "phase": "cold", "not_measured": reason}]
    logdir = ctx.get("logdir") or os.path.join(ctx["tmp"], "cluster-logs")
    os.makedirs(logdir, exist_ok=True)
    own_procs = "procs" not in ctx
    if own_procs:
        ctx = dict(ctx, procs=infra.Procs(ctx["tmp"]))
    s3 = S3(ctx["tmp"])
    try:
        s3.start()
    except RuntimeError as e:
        return [{"scenario": "cluster", "phase": "cold", "not_measured": f"scripts/s3-server.sh start failed: {e}"}]
    try:
        only = ctx.get("only") or "scaling,fanout"
        rows = scaling_rows(ctx, s3, logdir, ctx.get("repeats", 1)) if "scaling" in only else []
        rows += fanout_rows(ctx, s3, logdir) if "fanout" in only else []
    finally:
        s3.stop()
        if own_procs:
            ctx["procs"].stop_all()
    rows[0]["markdown"] = markdown(rows)  # bench.py prints this section as is
    return rows


def push_busybox(registry, tmp):
    """Only the busybox base (every scenario here uses it; bench.py's push_bases also makes a Debian one)."""
    def rootfs():
        d = os.path.join(tmp, "busybox-rootfs")
        shutil.rmtree(d, ignore_errors=True)
        infra.busybox_rootfs(d)
        return d
    os.makedirs(infra.CACHE, exist_ok=True)
    layout = infra.oci_layout("busybox", rootfs, ["sh"], ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"])
    sh(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--format", "v2s2", f"oci:{layout}:latest",
        f"docker://{registry.addr}/busybox:latest"], timeout=600)


def main():
    """Only the cluster rows (bench/cluster.sh): registry with the base images, dockerd, the S3 server."""
    import argparse
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--out", default=None)
    ap.add_argument("--only", default="scaling,fanout", help="scaling, fanout or both (comma-separated)")
    args = ap.parse_args()
    tmp = os.environ.get("BENCH_TMP") or __import__("tempfile").mkdtemp(prefix="bfcluster.")
    logdir = os.path.join(infra.CACHE, "logs", "cluster-" + datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%S"))
    os.makedirs(logdir, exist_ok=True)
    load_start = open("/proc/loadavg").read().split()[:3]
    procs = infra.Procs(tmp)
    started = time.time()
    try:
        registry = infra.Registry(procs, tmp)
        registry.start()
        push_busybox(registry, tmp)
        rows = run({"repo": REPO, "tmp": tmp, "registry": registry, "procs": procs, "logdir": logdir,
                    "quick": args.quick, "repeats": args.repeats, "only": args.only})
    finally:
        procs.stop_all()
        unmount_under(tmp)
    head = subprocess.run(["git", "-C", REPO, "log", "-1", "--format=%h %cs %s"], capture_output=True, text=True).stdout.strip()
    now = datetime.datetime.now(datetime.timezone.utc)
    md = "\n".join([
        f"# BuildFarm cluster benchmark — {now:%Y-%m-%d %H:%M} UTC", "",
        f"- BuildFarm @ {head}; {os.cpu_count()} CPUs shared by every process of the farm (all nodes on one machine: "
        "workers compete for the same cores, so speed-up is bounded by the cores, not by the worker count)",
        f"- load average at start {' '.join(load_start)}, at end {' '.join(open('/proc/loadavg').read().split()[:3])} "
        "(the machine is shared: read small differences as noise)",
        f"- repeats: {args.repeats}{' (--quick: smaller loops)' if args.quick else ''}; wall time of the whole run "
        f"{time.time() - started:.0f} s; logs in {logdir}", "",
        markdown(rows), "",
        "## How this was measured", "",
        "`bench/cluster.sh` (bench/lib/cluster.py): for each row a new farm — `buildfarm coordinator` and "
        "`buildfarm worker --slots 1` processes on 127.0.0.1, each with its own BUILDFARM_HOME, one shared remoting "
        "certificate, a new namespace in an S3 bucket on radosgw (scripts/s3-server.sh) — then the client's "
        "`buildfarm build --server` (or the 24 at once). Base images come from a docker-registry on 127.0.0.1. "
        "BuildKit: Debian's dockerd, `docker build --network=none`, 24 at once after `docker builder prune -af`.", ""])
    date = now.strftime("%Y-%m-%d")
    out = args.out or os.path.join(BENCH, "results", f"{date}-cluster{'-quick' if args.quick else ''}.md")
    with open(out, "w") as f:
        f.write(md)
    with open(out[:-3] + ".json", "w") as f:
        json.dump({"rows": [{k: v for k, v in r.items() if k != "markdown"} for r in rows]}, f, indent=1, default=str)
    print(md)
    log(f"wrote {out}")


if __name__ == "__main__":
    main()
