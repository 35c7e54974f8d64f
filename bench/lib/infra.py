"""Processes the benchmark starts and stops: the local registry, dockerd (BuildKit), base images.

Everything binds to 127.0.0.1 or a unix socket under the run's temp folder; every process started
here is recorded in TMP/pids so that run.sh's trap can end it even if Python dies.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import time

# Where the Debian minbase rootfs and the prepared OCI layouts are kept between runs.
CACHE = os.environ.get("BENCH_CACHE", "/var/tmp/buildfarm-bench")


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


def sh(cmd, check=True, env=None, cwd=None, capture=True, timeout=None):
    """Runs a command (a list) and returns its CompletedProcess; raises with its stderr on failure."""
    p = subprocess.run(cmd, env=env, cwd=cwd, timeout=timeout, text=True,
                       stdout=subprocess.PIPE if capture else None,
                       stderr=subprocess.PIPE if capture else None)
    if check and p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {p.returncode}: {(p.stderr or '')[-2000:]}")
    return p


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Procs:
    """Background processes started by the harness, each in its own process group."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.procs = []

    def start(self, name, cmd, env=None, logname=None):
        logf = open(os.path.join(self.tmp, logname or f"{name}.log"), "wb")
        p = subprocess.Popen(cmd, stdout=logf, stderr=subprocess.STDOUT, env=env,
                             start_new_session=True, stdin=subprocess.DEVNULL)
        with open(os.path.join(self.tmp, "pids"), "a") as f:
            f.write(f"{p.pid}\n")
        self.procs.append((name, p))
        return p

    def stop_all(self):
        for name, p in reversed(self.procs):
            if p.poll() is not None:
                continue
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                log(f"{name} did not stop on SIGTERM; killing its group")
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(timeout=10)
        self.procs = []


def unmount_under(path):
    """Unmounts everything mounted below path (deepest first): overlay mounts left by builders."""
    path = os.path.realpath(path)
    mounts = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            mp = line.split()[4].replace("\\040", " ")
            if mp == path or mp.startswith(path + "/"):
                mounts.append(mp)
    for mp in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", mp], stderr=subprocess.DEVNULL)


def wait_for(pred, timeout, what):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


# ---------------------------------------------------------------- registry

class Registry:
    def __init__(self, procs, tmp):
        self.procs, self.dir = procs, os.path.join(tmp, "registry")
        self.port = free_port()
        self.addr = f"127.0.0.1:{self.port}"

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        cfg = os.path.join(self.dir, "config.yml")
        with open(cfg, "w") as f:
            f.write(f"""version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {self.dir}/data
  delete:
    enabled: true
http:
  addr: {self.addr}
""")
        self.procs.start("registry", ["docker-registry", "serve", cfg])

        def up():
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return True
            except OSError:
                return False
        wait_for(up, 30, "docker-registry")
        log(f"registry on {self.addr}")


# ---------------------------------------------------------------- base images

def busybox_rootfs(dest):
    """A busybox rootfs from Debian's busybox-static: /bin/busybox plus a link per applet."""
    os.makedirs(os.path.join(dest, "bin"))
    for d in ("etc", "tmp", "root", "proc", "sys", "dev", "usr/bin", "sbin"):
        os.makedirs(os.path.join(dest, d), exist_ok=True)
    os.chmod(os.path.join(dest, "tmp"), 0o1777)
    shutil.copy2("/bin/busybox", os.path.join(dest, "bin", "busybox"))
    applets = sh(["/bin/busybox", "--list"]).stdout.split()
    for a in applets:
        if a != "busybox":
            os.symlink("busybox", os.path.join(dest, "bin", a))
    with open(os.path.join(dest, "etc", "passwd"), "w") as f:
        f.write("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
    with open(os.path.join(dest, "etc", "group"), "w") as f:
        f.write("root:x:0:\nnogroup:x:65534:\n")


def apt_mirror():
    """The Debian mirror this machine's apt uses (first deb.debian.org-style URI of a bookworm suite)."""
    import glob
    for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*")):
        try:
            text = open(path).read()
        except OSError:
            continue
        # deb822 stanzas
        for stanza in text.split("\n\n"):
            fields = {}
            for line in stanza.splitlines():
                if ":" in line and not line.startswith("#"):
                    k, v = line.split(":", 1)
                    fields[k.strip()] = v.strip()
            if "bookworm" in fields.get("Suites", "").split() and "main" in fields.get("Components", ""):
                return fields["URIs"].split()[0]
        for line in text.splitlines():
            parts = line.split()
            if parts and parts[0] == "deb" and "bookworm" in parts:
                url = [p for p in parts[1:parts.index("bookworm")] if "://" in p]
                if url:
                    return url[0]
    return "http://deb.debian.org/debian"


def debian_rootfs():
    """debootstrap --variant=minbase bookworm, made once and kept in CACHE."""
    dest = os.path.join(CACHE, "debian-minbase")
    if os.path.exists(os.path.join(dest, "etc", "debian_version")):
        return dest
    tmp = dest + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    mirror = apt_mirror()
    log(f"debootstrap --variant=minbase bookworm from {mirror} (once; kept in {CACHE})")
    sh(["debootstrap", "--variant=minbase", "bookworm", tmp, mirror], timeout=1800)
    # device nodes, apt caches and logs are not image content
    for sub in ("dev", "var/cache/apt/archives", "var/lib/apt/lists", "var/log"):
        p = os.path.join(tmp, sub)
        for e in os.listdir(p) if os.path.isdir(p) else []:
            full = os.path.join(p, e)
            if os.path.isdir(full) and not os.path.islink(full):
                if sub != "var/cache/apt/archives" or e != "partial":
                    shutil.rmtree(full)
            else:
                os.unlink(full)
    os.rename(tmp, dest)
    return dest


def layer_tar(rootfs, out):
    """The rootfs as an uncompressed layer tar the way registries' images have them: relative names
    (`bin/sh`, no `/` or `./` entry), sorted, owners by number, hard links kept.
    (umoci insert writes a `/` entry, which BuildFarm's layer applier rejects.)"""
    import tarfile
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as t:
        for root, dirs, files in os.walk(rootfs):
            dirs.sort()
            for name in sorted(dirs + files):
                path = os.path.join(root, name)
                ti = t.gettarinfo(path, os.path.relpath(path, rootfs))
                ti.uname = ti.gname = ""
                if ti.isreg():
                    with open(path, "rb") as f:
                        t.addfile(ti, f)
                else:
                    t.addfile(ti)


def oci_layout(name, rootfs_fn, cmd, env):
    """An OCI layout with one layer holding the rootfs, built with umoci and kept in CACHE."""
    layout = os.path.join(CACHE, f"oci-v2-{name}")
    if os.path.exists(os.path.join(layout, "index.json")):
        return layout
    tmp = layout + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    rootfs = rootfs_fn()
    sh(["umoci", "init", "--layout", tmp])
    sh(["umoci", "new", "--image", f"{tmp}:latest"])
    layer = tmp + ".layer.tar"
    layer_tar(rootfs, layer)
    sh(["umoci", "raw", "add-layer", "--image", f"{tmp}:latest", layer], timeout=1800)
    os.unlink(layer)
    args = ["umoci", "config", "--image", f"{tmp}:latest", "--author", "buildfarm-bench",
            "--created", "2024-01-01T00:00:00Z", "--os", "linux", "--architecture", "amd64"]
    for c in cmd:
        args += ["--config.cmd", c]
    for e in env:
        args += ["--config.env", e]
    sh(args)
    sh(["umoci", "gc", "--layout", tmp])
    os.rename(tmp, layout)
    return layout


def push_bases(registry, tmp):
    """Pushes busybox:latest and debian-minbase:bookworm to the local registry; returns their refs."""
    path = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    os.makedirs(CACHE, exist_ok=True)

    def bb():
        d = os.path.join(tmp, "busybox-rootfs")
        shutil.rmtree(d, ignore_errors=True)
        busybox_rootfs(d)
        return d
    bb_layout = oci_layout("busybox", bb, ["sh"], [path])
    deb_layout = oci_layout("debian-minbase", debian_rootfs, ["bash"], [path])
    refs = {}
    for layout, repo, tag in ((bb_layout, "busybox", "latest"), (deb_layout, "debian-minbase", "bookworm")):
        dest = f"docker://{registry.addr}/{repo}:{tag}"
        sh(["skopeo", "copy", "--quiet", "--dest-tls-verify=false", "--format", "v2s2",
            f"oci:{layout}:latest", dest], timeout=600)
        refs[repo] = f"{registry.addr}/{repo}:{tag}"
    log(f"bases pushed: {', '.join(refs.values())}")
    return refs


def busybox_bundle(tmp):
    """A runc bundle of the busybox rootfs that runs `true` (the bare runc baseline)."""
    b = os.path.join(tmp, "runc-bundle")
    shutil.rmtree(b, ignore_errors=True)
    os.makedirs(b)
    busybox_rootfs(os.path.join(b, "rootfs"))
    sh(["runc", "spec", "--bundle", b])
    cfgp = os.path.join(b, "config.json")
    cfg = json.load(open(cfgp))
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["true"]
    cfg["root"]["readonly"] = False
    json.dump(cfg, open(cfgp, "w"), indent=1)
    return b
