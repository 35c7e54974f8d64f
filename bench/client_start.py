#!/usr/bin/env python3
"""Client start of `buildfarm build`: the native client (client/, Native AOT) vs the managed CLI (cli/, ReadyToRun),
beside the docker CLI measured in the same run (issue 16: <= 30 ms to the first byte on the socket).

1. Time to first byte: this script listens on a socket, starts the client, and stops the clock when the first byte
   arrives (native: unix socket named by engine.json; managed: --server on TCP; docker: DOCKER_HOST=unix://).
2. Warm build wall time through a running `buildfarm serve` (the native client reaches it through a unix socket
   relayed to serve's TCP port by this script, which only costs the native side), and the JIT count of each client.
Usage: bench/client_start.py NATIVE_BINARY MANAGED_DLL [--runs N]"""
import json, os, shutil, socket, statistics, subprocess, sys, tempfile, threading, time

native, managed = sys.argv[1], sys.argv[2]
runs = int(sys.argv[sys.argv.index("--runs") + 1]) if "--runs" in sys.argv else 15
work = tempfile.mkdtemp(prefix="bf-client-bench-")
VERSION = "client-bench"  # BUILDFARM_VERSION_OVERRIDE: native client and engine.json agree whatever was built when


def env(home, **extra):
    e = dict(os.environ, BUILDFARM_HOME=home, CI="1", BUILDFARM_VERSION_OVERRIDE=VERSION,
             BUILDFARM_MANAGED_CLI=managed)
    e.update(extra)
    return e


def first_byte(argv, environment, listener):
    """ms from spawning argv to the first byte it sends to listener."""
    listener.settimeout(30)
    start = time.perf_counter()
    process = subprocess.Popen(argv, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        connection, _ = listener.accept()
        connection.recv(1)
        elapsed = (time.perf_counter() - start) * 1000
        connection.close()
        return elapsed
    finally:
        process.kill()
        process.wait()


def unix_listener(path):
    if os.path.exists(path): os.unlink(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path); s.listen(4)
    return s


def tcp_listener():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(4)
    return s


def write_engine(home, sock, pid):
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, "engine.json"), "w") as f:
        json.dump({"pid": pid, "version": VERSION, "socket": sock, "started": "2026-01-01T00:00:00Z"}, f)


def relay(listener, port):
    """unix socket -> 127.0.0.1:port, byte for byte (threads)."""
    def pump(a, b):
        try:
            while (data := a.recv(65536)):
                b.sendall(data)
            b.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    def serve():
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", port))
            upstream.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=pump, args=(upstream, client), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()


def median(values): return statistics.median(values)


try:
    ctx = os.path.join(work, "ctx")
    os.makedirs(ctx)
    with open(os.path.join(ctx, "Dockerfile"), "w") as f:
        f.write("FROM scratch\nCOPY a.txt /a.txt\nCOPY b.txt /b.txt\n")
    for name in ("a.txt", "b.txt"):
        with open(os.path.join(ctx, name), "w") as f: f.write(name * 100)

    # --- 1. time to first byte -------------------------------------------------------------------------
    home = os.path.join(work, "home-fb")
    sock = os.path.join(work, "fb.sock")
    native_ms, managed_ms, docker_ms, fallback_ms = [], [], [], []
    unix = unix_listener(sock)
    tcp = tcp_listener()
    write_engine(home, sock, os.getpid())
    docker = shutil.which("docker")
    for i in range(runs):  # interleaved, so load changes hit all three alike
        native_ms.append(first_byte([native, "build", "--progress", "plain", ctx], env(home), unix))
        managed_ms.append(first_byte(["dotnet", managed, "build", "--progress", "plain", "--server",
                                      f"127.0.0.1:{tcp.getsockname()[1]}", ctx], env(home), tcp))
        # an option the native client leaves to the managed CLI (--server): its start, then execv of `dotnet buildfarm.dll`
        fallback_ms.append(first_byte([native, "build", "--progress", "plain", "--server",
                                       f"127.0.0.1:{tcp.getsockname()[1]}", ctx], env(home), tcp))
        if docker:
            docker_ms.append(first_byte([docker, "version", "--format", "{{.Server.Version}}"],
                                        dict(os.environ, DOCKER_HOST=f"unix://{sock}"), unix))
    unix.close(); tcp.close()

    # --- 2. warm builds through a running serve ------------------------------------------------------------
    serve_home = os.path.join(work, "home-serve")
    port_probe = tcp_listener(); port = port_probe.getsockname()[1]; port_probe.close()
    server = subprocess.Popen(["dotnet", managed, "serve", "--listen", f"127.0.0.1:{port}"], env=env(serve_home),
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()
        if "serving on" not in line:
            sys.exit(f"serve did not start: {line}")
        engine_sock = os.path.join(serve_home, "engine.sock")
        relay(unix_listener(engine_sock), port)
        write_engine(serve_home, engine_sock, server.pid)

        def timed(argv, environment):
            start = time.perf_counter()
            done = subprocess.run(argv, env=environment, capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
            return (time.perf_counter() - start) * 1000, done.stderr

        native_build = [native, "build", "--progress", "plain", ctx]
        # the options the native client now takes itself (issue 16): a secret and a file output brought from the engine
        secret_file = os.path.join(work, "secret.txt")
        with open(secret_file, "w") as f: f.write("s3cr3t")
        native_output = [native, "build", "--progress", "plain", "--secret", f"id=tok,src={secret_file}",
                         "-o", f"type=tar,dest={os.path.join(work, 'out.tar')}", ctx]
        fallback_build = [native, "build", "--progress", "plain", "--server", f"127.0.0.1:{port}", ctx]
        managed_build = ["dotnet", managed, "build", "--progress", "plain", "--server", f"127.0.0.1:{port}", ctx]
        timed(native_build, env(serve_home))  # cold: fills the cache
        native_warm, managed_warm, output_warm, fallback_warm = [], [], [], []
        for i in range(runs):
            native_warm.append(timed(native_build, env(serve_home))[0])
            managed_warm.append(timed(managed_build, env(serve_home))[0])
            output_warm.append(timed(native_output, env(serve_home))[0])
            fallback_warm.append(timed(fallback_build, env(serve_home))[0])
        _, native_trace = timed(native_build, env(serve_home, BUILDFARM_CLIENT_TRACE="1"))
        _, managed_trace = timed(managed_build, env(serve_home, BUILDFARM_CLIENT_TRACE="1"))
        _, output_trace = timed(native_output, env(serve_home, BUILDFARM_CLIENT_TRACE="1"))
        _, fallback_trace = timed(fallback_build, env(serve_home, BUILDFARM_CLIENT_TRACE="1"))
        if "native build through" not in output_trace:
            sys.exit(f"the native client did not build -o/--secret through the engine:\n{output_trace}")
        if "native build through" not in native_trace:
            sys.exit(f"the native client did not build through the engine:\n{native_trace}")
        jit = lambda text: next((l.split(":")[-1].strip().split(" ")[0] for l in text.splitlines() if "methods JIT-compiled" in l), "?")
        native_jit = next((l.split(", ")[-1].split(" ")[0] for l in native_trace.splitlines() if "methods JIT-compiled" in l), "?")
        output_jit = next((l.split(", ")[-1].split(" ")[0] for l in output_trace.splitlines() if "methods JIT-compiled" in l), "?")
    finally:
        server.send_signal(2)
        server.wait(60)

    print(f"client start, median of {runs} (ms)    first byte on the socket    warm build wall (served)    JIT-compiled methods")
    print(f"  native client (AOT)                {median(native_ms):8.1f}                  {median(native_warm):8.1f}                  {native_jit}")
    print(f"  managed CLI (ReadyToRun)           {median(managed_ms):8.1f}                  {median(managed_warm):8.1f}                  {jit(managed_trace)}")
    print(f"  native, --secret + -o type=tar                                    {median(output_warm):8.1f}                  {output_jit}")
    print(f"  native -> managed fallback (execv) {median(fallback_ms):8.1f}                  {median(fallback_warm):8.1f}                  {jit(fallback_trace)}")
    if docker_ms:
        print(f"  docker CLI (docker version)        {median(docker_ms):8.1f}")
        print(f"ratio native / docker first byte: {median(native_ms) / median(docker_ms):.2f} (target: native <= 30 ms)")
    print(f"ratio native / managed: first byte {median(native_ms) / median(managed_ms):.2f}, warm build {median(native_warm) / median(managed_warm):.2f}")
finally:
    shutil.rmtree(work, ignore_errors=True)
