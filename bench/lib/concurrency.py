"""The concurrency rows: 8 identical builds of scenarios/conc8 submitted at the same moment, cold.

For each builder: one cold build alone, then (reset to empty again) the same build 8 times at once; the wall time until
all 8 are done, its ratio to the one build, and how many times the RUN steps really executed (each RUN prints
`ran NAME UUID`, a fresh UUID per execution; the distinct UUIDs across the 8 outputs are the executions). Builders:
- BuildFarm embedded: 8 `buildfarm build` processes sharing one BUILDFARM_HOME (each its own one-node engine);
- BuildFarm through one `buildfarm serve` (its own home, started before the clock, not counted): 8 `build --server`
  (the managed CLI);
- BuildFarm as users run it (`--builders buildfarm_engine`): 8 `buildfarm build` of the native client (no flags) through
  the home's resident engine, already running (started by the reset, as dockerd is for BuildKit);
- BuildKit: 8 `docker build` against the one dockerd.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import time

import infra
from builders import BUILD_TIMEOUT
from infra import log, wait_for

N = 8
RAN = re.compile(r"ran (\S+) ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})")
REPORTED = re.compile(r"(\d+) steps executed")
DISTINCT_RUNS = 2  # the RUN steps of scenarios/conc8/Dockerfile


def _all_at_once(commands, logdir, label):
    """Starts every (cmd, env) at the same moment; returns (wall seconds until the last exits, [(rc, output)])."""
    started = []
    t0 = time.monotonic()
    for i, (cmd, env) in enumerate(commands):
        path = os.path.join(logdir, f"{label}-{i + 1}.log")
        out = open(path, "w")
        p = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        started.append((p, out, path))
    for p, out, _ in started:
        try:
            p.wait(timeout=max(1, BUILD_TIMEOUT - (time.monotonic() - t0)))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        out.close()
    wall = time.monotonic() - t0
    return wall, [(p.returncode, open(path, errors="replace").read()) for p, _, path in started]


def _executions(outputs):
    return len({m.group(2) for out in outputs for m in RAN.finditer(out)})


class Serve:
    """One `buildfarm serve` on a free loopback port with its own (new) home."""

    def __init__(self, bf, procs, home):
        self.bf, self.procs, self.home = bf, procs, home
        self.port = infra.free_port()
        self.env = dict(bf.env, BUILDFARM_HOME=home)
        self.p = None

    def start(self):
        infra.unmount_under(self.home)
        shutil.rmtree(self.home, ignore_errors=True)
        os.makedirs(self.home)
        self.p = self.procs.start(f"serve-{self.port}", ["env", "--default-signal=INT", "dotnet", self.bf.dll, "serve",
                                                       "--listen", f"127.0.0.1:{self.port}"], env=self.env)

        def up():
            if self.p.poll() is not None:
                raise RuntimeError(f"buildfarm serve exited {self.p.returncode} (log in the run's temp folder)")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                return False
        wait_for(up, 120, "buildfarm serve")

    def stop(self):
        if self.p and self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
            try:
                self.p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.p.pid, signal.SIGKILL)
                self.p.wait()
        infra.unmount_under(self.home)


def _bf_cmd(bf, ctx, df, tag, server=None):
    return ["dotnet", bf.dll, "build", "--progress", "plain"] + (["--server", server] if server else []) + [
        "-f", df, "-t", tag, ctx]


def _engine_cmd(eng, ctx, df, tag):
    """`buildfarm build` as a user types it: the native client (the managed CLI when none was published), no flags."""
    client = [eng.native_client()] if eng.native_client() else ["dotnet", eng.dll]
    return client + ["build", "--progress", "plain", "-f", df, "-t", tag, ctx]


def _bk_cmd(bk, ctx, df, tag):
    verb = ["buildx", "build", "--load"] if bk.buildx else ["build"]
    return [bk.docker] + verb + ["--network=none", "--progress=plain", "-f", df, "-t", tag, ctx]


def run(run_, builders, registry, procs, logdir):
    """Measures the rows; returns {"rows": {kind: {...}}, "markdown": [lines], "notes": [...]}."""
    ctx, df, _ = run_.context("conc8", registry)
    by = {b.key: b for b in builders if b.available}
    bf, bk, eng = by.get("buildfarm"), by.get("buildkit"), by.get("buildfarm_engine")
    rows = {}

    def measure(kind, reset, one_cmd, many_cmds, finish=None):
        r = rows.setdefault(kind, {"one": [], "eight": [], "runs": [], "reported": [], "failed": []})
        try:
            reset()
            t, res = _all_at_once([one_cmd], logdir, f"conc8-{kind}-one-r{len(r['one'])}")
            if res[0][0] != 0:
                raise RuntimeError(f"one build exited {res[0][0]}: {res[0][1].strip().splitlines()[-1:]}")
            r["one"].append(t)
            if finish:
                finish()
            reset()
            t, res = _all_at_once(many_cmds, logdir, f"conc8-{kind}-eight-r{len(r['eight'])}")
            failed = [rc for rc, _ in res if rc != 0]
            if failed:
                r["failed"].append(f"{len(failed)} of {N} builds failed (exit codes {sorted(set(failed))}; logs conc8-{kind}-eight-*)")
            r["eight"].append(t)
            r["runs"].append(_executions([out for _, out in res]))
            r["reported"].append(sum(int(m.group(1)) for _, out in res for m in REPORTED.finditer(out)))
            log(f"conc8     {kind:16} one {r['one'][-1]:7.3f}s  8 at once {t:7.3f}s  RUNs executed {r['runs'][-1]}")
        except (RuntimeError, OSError) as e:
            r["failed"].append(str(e))
            log(f"conc8     {kind:16} FAILED: {e}")
        finally:
            if finish:
                finish()

    for rep in range(run_.args.repeats):
        if bf:
            measure("embedded", bf.reset, (_bf_cmd(bf, ctx, df, "conc8:one"), bf.env),
                    [(_bf_cmd(bf, ctx, df, f"conc8:{i}"), bf.env) for i in range(N)])
            serve = Serve(bf, procs, os.path.join(run_.tmp, "conc8-serve-home"))
            measure("serve", serve.start, (_bf_cmd(bf, ctx, df, "conc8:one", f"127.0.0.1:{serve.port}"), bf.env),
                    [(_bf_cmd(bf, ctx, df, f"conc8:{i}", f"127.0.0.1:{serve.port}"), bf.env) for i in range(N)],
                    finish=serve.stop)
        if eng:
            measure("engine", eng.reset, (_engine_cmd(eng, ctx, df, "conc8:one"), eng.env),
                    [(_engine_cmd(eng, ctx, df, f"conc8:{i}"), eng.env) for i in range(N)])
        if bk:
            measure("buildkit", bk.reset, (_bk_cmd(bk, ctx, df, "conc8:one"), bk.env),
                    [(_bk_cmd(bk, ctx, df, f"conc8:{i}"), bk.env) for i in range(N)])
    return {"rows": rows, "markdown": markdown(rows, run_.args.repeats)}


def _median(xs):
    xs = sorted(xs)
    return (xs[len(xs) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2) if xs else None


def summary(rows, kind):
    """(one, eight, eight/one, runs executed) medians of a kind, or None when not measured."""
    r = rows.get(kind)
    if not r or not r["eight"] or not r["one"]:
        return None
    one, eight = _median(r["one"]), _median(r["eight"])
    return one, eight, eight / one, max(r["runs"])


def markdown(rows, repeats):
    names = {"embedded": "BuildFarm embedded (8 processes, one home)", "serve": "BuildFarm through one `serve` (managed client, --server)",
             "engine": "BuildFarm as users run it (native client, resident engine)", "buildkit": "BuildKit (one dockerd)"}
    bk = summary(rows, "buildkit")
    L = [f"## Concurrency: {N} identical builds submitted at once (cold)", "",
         f"`scenarios/conc8` (a CPU-bound RUN and a 1 s RUN on busybox), median of {repeats}: one cold build alone, then "
         f"from empty again the same build {N} times at the same moment (wall time until all are done). RUNs executed: "
         f"distinct `ran NAME UUID` lines across the {N} outputs ({DISTINCT_RUNS} distinct RUN steps: ideal {DISTINCT_RUNS}).", "",
         f"| builder | one build | {N} at once | {N} ÷ one | RUNs executed | steps executed (sum of each build's own line) | {N} at once vs BuildKit's |",
         "|---|---:|---:|---:|---:|---:|---:|"]
    for kind in ("embedded", "serve", "engine", "buildkit"):
        r = rows.get(kind)
        if r is None:
            continue
        s = summary(rows, kind)
        if s is None:
            L.append(f"| {names[kind]} | failed: {'; '.join(r['failed'])[:300]} | | | | | |")
            continue
        one, eight, ratio, runs = s
        reported = max(r["reported"]) if kind != "buildkit" and r["reported"] else None
        vs = f"{eight / bk[1]:.2f}×" if bk else "—"
        L.append(f"| {names[kind]} | {one:.2f} | {eight:.2f} | {ratio:.2f}× | {runs} | "
                 f"{reported if reported is not None else '—'} | {vs} |")
        if r["failed"]:
            L.append(f"| ↳ failures | {'; '.join(r['failed'])[:300]} | | | | | |")
    L.append("")
    return L
