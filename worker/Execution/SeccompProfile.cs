using System.Runtime.InteropServices;
using System.Text.Json.Nodes;

namespace BuildFarm.Worker.Execution;

/// <summary>
/// The default seccomp profile of a RUN step: containerd's default (contrib/seccomp/seccomp_default.go, Apache-2.0),
/// adapted — an allow-list of syscalls, everything else fails with EPERM; syscalls that need a capability are allowed
/// only when the step has it, and without CAP_SYS_ADMIN clone may not create namespaces (no user namespace, no mount).
/// Names this host's libseccomp does not know are skipped by runc.
/// </summary>
internal static class SeccompProfile
{
    private static readonly string[] Allowed =
    [
        "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget", "capset", "chdir",
        "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64", "clock_getres", "clock_getres_time64",
        "clock_gettime", "clock_gettime64", "clock_nanosleep", "clock_nanosleep_time64", "close", "close_range",
        "connect", "copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1", "epoll_ctl",
        "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old", "eventfd", "eventfd2", "execve",
        "execveat", "exit", "exit_group", "faccessat", "faccessat2", "fadvise64", "fadvise64_64", "fallocate",
        "fanotify_mark", "fchdir", "fchmod", "fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl",
        "fcntl64", "fdatasync", "fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat",
        "fstat64", "fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_requeue",
        "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat", "getcpu", "getcwd", "getdents",
        "getdents64", "getegid", "getegid32", "geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32",
        "getitimer", "getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
        "getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage", "getsid", "getsockname",
        "getsockopt", "get_thread_area", "gettid", "gettimeofday", "getuid", "getuid32", "getxattr", "getxattrat",
        "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy",
        "io_getevents", "io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup", "io_submit",
        "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset", "landlock_restrict_self", "lchown", "lchown32",
        "lgetxattr", "link", "linkat", "listen", "listmount", "listxattr", "listxattrat", "llistxattr", "_llseek",
        "lremovexattr", "lseek", "lsetxattr", "lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr", "lstat",
        "lstat64", "madvise", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod",
        "mknodat", "mlock", "mlock2", "mlockall", "map_shadow_stack", "mmap", "mmap2", "mprotect", "mq_getsetattr",
        "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
        "mq_unlink", "mremap", "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock", "munlockall",
        "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect", "open", "openat", "openat2", "pause",
        "pidfd_open", "pidfd_send_signal", "pipe", "pipe2", "pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll",
        "ppoll_time64", "prctl", "pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
        "pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink", "readlinkat", "readv",
        "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg", "remap_file_pages", "removexattr",
        "removexattrat", "rename", "renameat", "renameat2", "restart_syscall", "rmdir", "rseq", "rt_sigaction",
        "rt_sigpending", "rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
        "rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr", "sched_getparam",
        "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler", "sched_rr_get_interval",
        "sched_rr_get_interval_time64", "sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler",
        "sched_yield", "seccomp", "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
        "sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32",
        "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority", "setregid",
        "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid", "setreuid32", "setrlimit",
        "set_robust_list", "setsid", "setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32",
        "setxattr", "setxattrat", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd",
        "signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat", "stat64", "statfs",
        "statfs64", "statmount", "statx", "symlink", "symlinkat", "sync", "sync_file_range", "syncfs", "sysinfo", "tee",
        "tgkill", "time", "timer_create", "timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64",
        "timer_settime", "timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64", "timerfd_settime",
        "timerfd_settime64", "times", "tkill", "truncate", "truncate64", "ugetrlimit", "umask", "uname", "unlink",
        "unlinkat", "uretprobe", "utime", "utimensat", "utimensat_time64", "utimes", "vfork", "vmsplice", "wait4",
        "waitid", "waitpid", "write", "writev"
    ];

    // Syscalls a capability brings with it (containerd's per-capability additions).
    private static readonly (string Capability, string[] Syscalls)[] ByCapability =
    [
        ("CAP_DAC_READ_SEARCH", ["open_by_handle_at"]),
        ("CAP_SYS_ADMIN", ["bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick", "lookup_dcookie",
            "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl", "quotactl_fd", "setdomainname",
            "sethostname", "setns", "syslog", "umount", "umount2", "unshare"]),
        ("CAP_SYS_BOOT", ["reboot"]),
        ("CAP_SYS_CHROOT", ["chroot"]),
        ("CAP_SYS_MODULE", ["delete_module", "init_module", "finit_module"]),
        ("CAP_SYS_PACCT", ["acct"]),
        ("CAP_SYS_PTRACE", ["kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev", "ptrace"]),
        ("CAP_SYS_RAWIO", ["iopl", "ioperm"]),
        ("CAP_SYS_TIME", ["settimeofday", "stime", "clock_settime", "clock_settime64"]),
        ("CAP_SYS_TTY_CONFIG", ["vhangup"]),
        ("CAP_SYS_NICE", ["get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node"]),
        ("CAP_SYSLOG", ["syslog"]),
        ("CAP_BPF", ["bpf"]),
        ("CAP_PERFMON", ["perf_event_open"]),
    ];

    private const long AfAlg = 38, AfVsock = 40;
    private const long EnoSys = 38;

    // CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP
    private const long NamespaceFlags = 0x00020000 | 0x04000000 | 0x08000000 | 0x10000000 | 0x20000000 | 0x40000000 | 0x02000000;

    public static JsonObject Build(IReadOnlyCollection<string> capabilities)
    {
        var rules = new JsonArray
        {
            Rule(Allowed),
            // socket(2) for every address family but AF_ALG and AF_VSOCK (three single conditions: runc ORs repeated indexes)
            Rule(["socket"], Arg(0, AfAlg, "SCMP_CMP_LT")),
            Rule(["socket"], Arg(0, AfAlg + 1, "SCMP_CMP_EQ")),
            Rule(["socket"], Arg(0, AfVsock, "SCMP_CMP_GT")),
        };
        foreach (var persona in new long[] { 0x0, 0x0008, 0x20000, 0x20008, 0xffffffff })
            rules.Add(Rule(["personality"], Arg(0, persona, "SCMP_CMP_EQ")));
        rules.Add(Rule(["process_vm_readv", "process_vm_writev", "ptrace"])); // kernel >= 4.8: safe without CAP_SYS_PTRACE
        string[] archSyscalls = RuntimeInformation.OSArchitecture switch
        {
            Architecture.X64 => ["arch_prctl", "modify_ldt"],
            Architecture.Arm64 => ["arm_fadvise64_64", "arm_sync_file_range", "sync_file_range2", "breakpoint", "cacheflush", "set_tls"],
            _ => [],
        };
        if (archSyscalls.Length > 0) rules.Add(Rule(archSyscalls));
        foreach (var (capability, syscalls) in ByCapability)
            if (capabilities.Contains(capability)) rules.Add(Rule(syscalls));
        if (!capabilities.Contains("CAP_SYS_ADMIN"))
        {
            // clone without namespace flags only; clone3 cannot be filtered by its flags, so it reports ENOSYS and libc falls back to clone
            var cloneFlagsArg = RuntimeInformation.OSArchitecture == Architecture.S390x ? 1 : 0;
            var arg = Arg(cloneFlagsArg, NamespaceFlags, "SCMP_CMP_MASKED_EQ");
            arg["valueTwo"] = 0;
            rules.Add(Rule(["clone"], arg));
            var clone3 = Rule(["clone3"]);
            clone3["action"] = "SCMP_ACT_ERRNO";
            clone3["errnoRet"] = EnoSys;
            rules.Add(clone3);
        }

        return new JsonObject
        {
            ["defaultAction"] = "SCMP_ACT_ERRNO",
            ["architectures"] = new JsonArray(Architectures().Select(a => (JsonNode)JsonValue.Create(a)).ToArray()),
            ["syscalls"] = rules,
        };
    }

    private static string[] Architectures() => RuntimeInformation.OSArchitecture switch
    {
        Architecture.X64 => ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        Architecture.Arm64 => ["SCMP_ARCH_ARM", "SCMP_ARCH_AARCH64"],
        Architecture.S390x => ["SCMP_ARCH_S390", "SCMP_ARCH_S390X"],
        Architecture.RiscV64 => ["SCMP_ARCH_RISCV64"],
        Architecture.LoongArch64 => ["SCMP_ARCH_LOONGARCH64"],
        _ => [],
    };

    private static JsonObject Rule(IEnumerable<string> names, params JsonObject[] args) => new()
    {
        ["names"] = new JsonArray(names.Select(n => (JsonNode)JsonValue.Create(n)).ToArray()),
        ["action"] = "SCMP_ACT_ALLOW",
        ["args"] = new JsonArray(args.Select(a => (JsonNode)a).ToArray()),
    };

    private static JsonObject Arg(int index, long value, string op) => new()
    {
        ["index"] = index, ["value"] = value, ["op"] = op,
    };
}
