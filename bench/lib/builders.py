"""The builders compared: BuildFarm (embedded), BuildKit (inside dockerd) and buildah.

Each has reset() (all caches empty: the cold state), build() (returns wall seconds of the user's
command) and version(). A builder that cannot run here has available=False and a reason.
"""
import os
import shutil
import socket
import subprocess
import threading
import time

from infra import log, sh, unmount_under, wait_for

BUILD_TIMEOUT = int(os.environ.get("BENCH_BUILD_TIMEOUT", "900"))


class BuildError(Exception):
    pass


class Builder:
    name = "?"
    available = True
    reason = ""

    def __init__(self, tmp, logdir):
        self.tmp, self.logdir = tmp, logdir
        self.nbuild = 0

    def _run(self, cmd, env, label):
        """Runs one build command; its output goes to a log file. Returns seconds or raises BuildError."""
        self.nbuild += 1
        path = os.path.join(self.logdir, f"{self.key}-{self.nbuild:03d}-{label}.log")
        # The output is read line by line so that each line's arrival time is kept (path + ".times":
        # "seconds<TAB>line"): where a build spends its time, even when the tool prints no durations.
        with open(path, "w") as out, open(path + ".times", "w") as times:
            out.write("$ " + " ".join(cmd) + "\n")
            out.flush()
            t0 = time.monotonic()
            p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 stdin=subprocess.DEVNULL, text=True, errors="replace", bufsize=1)
            timer = threading.Timer(BUILD_TIMEOUT, p.kill)
            timer.start()
            try:
                for line in p.stdout:
                    times.write(f"{time.monotonic() - t0:.3f}\t{line}")
                    out.write(line)
                rc = p.wait()
            finally:
                timer.cancel()
            dt = time.monotonic() - t0
            times.write(f"{dt:.3f}\t<exit {rc}>\n")
            if rc == -9 and dt >= BUILD_TIMEOUT:
                rc = "timeout"
        if rc != 0:
            lines = [l.strip() for l in open(path, errors="replace").read().splitlines()[1:] if l.strip()]
            errs = [l for l in lines if "error" in l.lower()] or lines
            msg = errs[-1] if errs else "no output"
            if len(msg) > 360:
                msg = msg[:200] + " … " + msg[-150:]
            raise BuildError(f"exit {rc} after {dt:.1f}s: {msg} (log {path})")
        return dt


class BuildKit(Builder):
    """BuildKit as built into Debian's docker.io dockerd, started by hand on a private socket."""
    name, key = "BuildKit", "buildkit"

    def __init__(self, tmp, logdir, procs):
        super().__init__(tmp, logdir)
        self.dir = os.path.join(tmp, "dockerd")
        self.sock = os.path.join(self.dir, "docker.sock")
        self.docker = "/usr/bin/docker"  # docker.io's CLI (20.10); a newer CLI elsewhere on PATH wants buildx
        os.makedirs(os.path.join(self.dir, "config"), exist_ok=True)
        self.env = dict(os.environ, DOCKER_HOST=f"unix://{self.sock}", DOCKER_BUILDKIT="1",
                        DOCKER_CONFIG=os.path.join(self.dir, "config"))
        try:
            procs.start("dockerd", [
                "dockerd", "--iptables=false", "--ip6tables=false", "--bridge=none",
                "--data-root", os.path.join(self.dir, "data"), "--exec-root", os.path.join(self.dir, "exec"),
                "--pidfile", os.path.join(self.dir, "dockerd.pid"), "-H", f"unix://{self.sock}",
                "--containerd-namespace", "bfbench", "--containerd-plugins-namespace", "bfbench-plugins",
                "--log-level", "warn"])
            wait_for(lambda: subprocess.run([self.docker, "version"], env=self.env, capture_output=True).returncode == 0,
                     60, "dockerd")
        except Exception as e:  # noqa: BLE001 - reported as a row reason
            self.available, self.reason = False, f"dockerd did not start: {e}"
            return
        self.buildx = subprocess.run([self.docker, "buildx", "version"], env=self.env,
                                     capture_output=True).returncode == 0
        log(f"dockerd up on {self.sock}; using {'docker buildx build' if self.buildx else 'DOCKER_BUILDKIT=1 docker build'}")

    def version(self):
        v = sh([self.docker, "version", "--format", "{{.Server.Version}}"], env=self.env, check=False).stdout.strip()
        return f"BuildKit built into dockerd {v} (Debian docker.io)" + (", docker buildx" if self.buildx else ", DOCKER_BUILDKIT=1 docker build")

    def reset(self):
        sh([self.docker, "builder", "prune", "-af"], env=self.env)
        ids = sh([self.docker, "images", "-aq"], env=self.env).stdout.split()
        if ids:
            sh([self.docker, "rmi", "-f"] + sorted(set(ids)), env=self.env, check=False)
        sh([self.docker, "system", "prune", "-af"], env=self.env)

    def build(self, ctx, dockerfile, tag, label):
        verb = ["buildx", "build", "--load"] if self.buildx else ["build"]
        return self._run([self.docker] + verb + ["--network=none", "--progress=plain", "-f", dockerfile,
                                                 "-t", tag, ctx], self.env, label)


class Buildah(Builder):
    """buildah with runc, overlay storage in the run's temp folder, --layers for a step cache."""
    name, key = "buildah", "buildah"

    def __init__(self, tmp, logdir):
        super().__init__(tmp, logdir)
        self.root = os.path.join(tmp, "buildah", "root")
        self.runroot = os.path.join(tmp, "buildah", "runroot")
        self.env = dict(os.environ, BUILDAH_RUNTIME="/usr/sbin/runc")
        self.g = ["buildah", "--root", self.root, "--runroot", self.runroot, "--storage-driver", "overlay"]
        if not shutil.which("buildah"):
            self.available, self.reason = False, "buildah is not installed"

    def version(self):
        return sh(["buildah", "--version"]).stdout.strip() + "; " + sh(["runc", "--version"]).stdout.splitlines()[0]

    def reset(self):
        if os.path.isdir(self.root):
            sh(self.g + ["rm", "-a"], env=self.env, check=False)
            sh(self.g + ["rmi", "-a", "-f"], env=self.env, check=False)

    def build(self, ctx, dockerfile, tag, label):
        return self._run(self.g + ["bud", "--layers", "--isolation", "oci", "--network", "none",
                                   "--tls-verify=false", f"--jobs={os.cpu_count()}", "-f", dockerfile,
                                   "-t", tag, ctx], self.env, label)

    def close(self):
        self.reset()
        unmount_under(os.path.join(self.tmp, "buildah"))


class BuildFarm(Builder):
    """`buildfarm build` in embedded mode (coordinator + worker in one process, local-folder store)."""
    name, key = "BuildFarm", "buildfarm"

    def __init__(self, tmp, logdir, repo, extra_args=None, home_name="buildfarm-home"):
        super().__init__(tmp, logdir)
        self.repo = repo
        self.dll = os.path.join(repo, "out", "buildfarm", "buildfarm.dll")  # the ReadyToRun publish
        self.home = os.path.join(tmp, home_name)
        self.extra = extra_args or []
        self.env = dict(os.environ, BUILDFARM_HOME=self.home, DOTNET_CLI_TELEMETRY_OPTOUT="1",
                        DOTNET_NOLOGO="1", BUILDFARM_ENGINE="embedded")
        self.fixed = []
        self.build_error = os.environ.get("BENCH_BUILDFARM_BUILD_ERROR", "")
        if self.build_error:
            self.available, self.reason = False, self.build_error
        elif not os.path.exists(self.dll):
            self.available, self.reason = False, f"{self.dll} was not built"

    def version(self):
        head = sh(["git", "-C", self.repo, "log", "-1", "--format=%h %cs %s"], check=False).stdout.strip()
        dn = sh(["dotnet", "--version"], check=False).stdout.strip()
        return f"BuildFarm @ {head} (embedded, local-folder store); dotnet {dn}"

    def smoke(self, ctx_root):
        """Can `buildfarm build` build anything at all here? Sets available/reason."""
        if not self.available:
            return
        ctx = os.path.join(ctx_root, "buildfarm-smoke")
        os.makedirs(ctx, exist_ok=True)
        with open(os.path.join(ctx, "hello.txt"), "w") as f:
            f.write("hello\n")
        with open(os.path.join(ctx, "Dockerfile"), "w") as f:
            f.write("FROM scratch\nCOPY hello.txt /hello.txt\n")
        try:
            self.reset()
            self.build(ctx, os.path.join(ctx, "Dockerfile"), "bench-smoke", "smoke")
            # the fixed cost of one build: warm rebuilds of the smallest Dockerfile
            self.fixed = [self.build(ctx, os.path.join(ctx, "Dockerfile"), "bench-smoke", "smoke-warm")
                          for _ in range(3)]
        except BuildError as e:
            self.available, self.reason = False, f"`buildfarm build` cannot build a 2-line Dockerfile yet ({e})"

    def startup_seconds(self):
        """Wall time of `dotnet buildfarm.dll --help`: the process start every build pays."""
        t0 = time.monotonic()
        subprocess.run(["dotnet", self.dll, "--help"], env=self.env, capture_output=True)
        return time.monotonic() - t0

    def reset(self):
        if os.path.exists(self.home):
            unmount_under(self.home)
            shutil.rmtree(self.home, ignore_errors=True)
        os.makedirs(self.home, exist_ok=True)

    def build(self, ctx, dockerfile, tag, label):
        return self._run(["dotnet", self.dll, "build", "--progress", "plain", "-f", dockerfile, "-t", tag]
                         + self.extra + [ctx], self.env, label)

    def close(self):
        unmount_under(self.home)


class BuildFarmEngine(BuildFarm):
    """`buildfarm build` as a user runs it: through the home's resident engine. Every reset stops it, wipes the home
    and starts a fresh engine (a one-line build of its own), so a cold build finds an empty cache and a running
    engine, as BuildKit's cold build finds a running dockerd."""
    name, key = "BuildFarm (resident engine)", "buildfarm_engine"

    def __init__(self, tmp, logdir, repo):
        super().__init__(tmp, logdir, repo, home_name="buildfarm-home-engine")
        self.tmp_root = tmp
        self.env["BUILDFARM_ENGINE"] = "resident"

    def native_client(self):
        """README's layout: the Native AOT client published to out/buildfarm/bin (run.sh publishes it when it can)."""
        path = os.path.join(os.path.dirname(self.dll), "bin", "buildfarm")
        return path if os.access(path, os.X_OK) else None

    def version(self):
        client = "the native client out/buildfarm/bin/buildfarm" if self.native_client() else "the managed CLI (no native client published)"
        return super().version().replace("(embedded, ", f"(resident engine through {client}, already running for cold builds, ")

    def build(self, ctx, dockerfile, tag, label):
        client = [self.native_client()] if self.native_client() else ["dotnet", self.dll]
        return self._run(client + ["build", "--progress", "plain", "-f", dockerfile, "-t", tag] + self.extra + [ctx],
                         self.env, label)

    def stop_engine(self):
        if os.path.exists(os.path.join(self.home, "engine.json")):
            subprocess.run(["dotnet", self.dll, "serve", "--stop"], env=self.env, capture_output=True, timeout=120)

    def keep_engine_log(self):
        """The engine's log (BUILDFARM_TRACE=1 phase and unpack timings land there) goes beside the build logs before
        the home is wiped."""
        log = os.path.join(self.home, "engine.log")
        if os.path.exists(log):
            self.engine_logs = getattr(self, "engine_logs", 0) + 1
            shutil.copy(log, os.path.join(self.logdir, f"buildfarm-engine-{self.engine_logs}.log"))

    def reset(self):
        self.stop_engine()
        self.keep_engine_log()
        super().reset()
        ctx = os.path.join(self.tmp_root, "buildfarm-engine-start")
        os.makedirs(ctx, exist_ok=True)
        with open(os.path.join(ctx, "Dockerfile"), "w") as f:
            f.write("FROM scratch\nCOPY Dockerfile /engine-start\n")
        subprocess.run(["dotnet", self.dll, "build", "--progress", "quiet", ctx], env=self.env, capture_output=True, timeout=300)

    def close(self):
        self.stop_engine()
        self.keep_engine_log()
        super().close()


def runc_bare(bundle, n):
    """Seconds of each of n sequential `runc run` of the bundle (the per-RUN floor)."""
    times = []
    for i in range(n):
        cid = f"bfbench-bare-{os.getpid()}-{i}"
        t0 = time.monotonic()
        p = subprocess.run(["runc", "run", "--bundle", bundle, cid], capture_output=True, stdin=subprocess.DEVNULL)
        dt = time.monotonic() - t0
        if p.returncode != 0:
            subprocess.run(["runc", "delete", "-f", cid], capture_output=True)
            raise RuntimeError(f"runc run failed: {p.stderr.decode(errors='replace')[-300:]}")
        times.append(dt)
    return times
