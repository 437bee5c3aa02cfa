/* SPDX-License-Identifier: MIT */
#pragma once

/* Running one command under supervision: spawn it in its own process group, and in its own cgroup
 * where the host allows (a cgroup v2 child via clone3(CLONE_INTO_CGROUP); the v1 memory, cpu and
 * pids controllers on hybrid hosts; else the process group alone, detected at run time and said in
 * isolation_desc), apply limits, signal the whole task, measure it, reap it, and turn its end into
 * an exit code as GNU timeout does.
 *
 * On hybrid hosts the two hierarchies complement each other: a v2 leaf whose parent offers no
 * memory controller is paired with a v1 memory leaf for the memory figures, and v1 leaves that
 * carry the limits with a v2 leaf for cgroup.kill and cpu.stat. isolation says which carries the
 * limits (without limits: v2 when there is a v2 leaf).
 *
 * No logging, no exit: every function returns 0 or -errno. Used by `headroom run` (src/cli) and
 * later by the daemon's job runner. Linux only. All fds are O_CLOEXEC. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "basic/time-util.h"

#define SV_PATH_MAX 4096
#define SV_DESC_MAX 256

/* Exit codes of a supervised run (GNU timeout's, plus headroom's 75). */
enum sv_exit {
    SV_EXIT_DENIED = 75,       /* admission denied or waiting for capacity timed out (EX_TEMPFAIL) */
    SV_EXIT_TIMEOUT = 124,     /* --timeout expired */
    SV_EXIT_INTERNAL = 125,    /* the supervisor itself failed */
    SV_EXIT_NOEXEC = 126,      /* found but cannot be run */
    SV_EXIT_NOTFOUND = 127,    /* not found */
};

enum sv_isolation {
    SV_ISOLATION_GROUP,        /* its own process group only */
    SV_ISOLATION_CGROUP_V2,    /* a child cgroup of ours on the unified hierarchy */
    SV_ISOLATION_CGROUP_V1,    /* child cgroups in the v1 memory, cpu and pids hierarchies */
};

/* "process group", "cgroup v2", "cgroup v1". */
const char *sv_isolation_to_string(enum sv_isolation i);

struct sv_limits {
    uint64_t max_mem_bytes;    /* 0: none (memory.max / memory.limit_in_bytes) */
    double max_cpu_cores;      /* 0: none (cpu.max / cpu.cfs_quota_us) */
    uint64_t max_pids;         /* 0: none (pids.max) */
};

struct sv_spawn_options {
    char *const *argv;         /* argv[0] is looked up in PATH when it has no '/' */
    char *const *envp;         /* NULL: the caller's environment */
    bool want_cgroup;          /* try a cgroup (v2, then v1); fall back to the process group */
    const char *cgroup_name;   /* the leaf's name, e.g. "run-1234" (ASCII letters, digits, '-',
                                * '_', '.'); required with want_cgroup */
    struct sv_limits limits;   /* need a cgroup; -EOPNOTSUPP from sv_spawn when limits are asked
                                * for and no cgroup could be made */
    bool foreground;           /* stdin is a terminal whose foreground group is ours: the child's
                                * group becomes the terminal's foreground group (so it can read
                                * it, and Ctrl-C reaches it), and is handed back by sv_reap() */
    bool keep_ignored;         /* signals ignored (SIG_IGN) in the caller stay ignored in the
                                * command, as across a plain exec (`nohup headroom run …`); else
                                * every disposition is reset to SIG_DFL */
    bool allow_top;            /* limits asked for, and our own cgroup holds processes (a login
                                * session, a service) so it cannot give its children controllers:
                                * the task may go below the top of the v2 hierarchy instead
                                * (<mount>/headroom/NAME), where root can enable them */
    const char *sys_root;      /* "" or NULL: "/"; tests point it at a fixture tree for the
                                * cgroup detection (spawning into a fixture falls back to the
                                * process group) */
};

struct sv_child {
    pid_t pid;                 /* also the process group id */
    int pidfd;                 /* pollable: readable once the child has exited; -EBADF if none */
    enum sv_isolation isolation;
    char isolation_desc[SV_DESC_MAX]; /* "cgroup v2 /sys/fs/cgroup/…/run-1234", or why it is only a
                                       * process group ("cgroup v2 not writable: EACCES; …") */
    char cgroup_path[SV_PATH_MAX];    /* v2: the leaf; v1: the memory controller's leaf; "" */
    usec_t started_usec;       /* CLOCK_MONOTONIC */
    bool took_terminal;        /* foreground was done: sv_reap() gives the terminal back */
    /* private */
    int v1_fds[3];                    /* memory, cpu, pids leaves (O_PATH), or -EBADF */
    char v1_paths[3][SV_PATH_MAX];
    int v2_fd;                        /* the v2 leaf (O_PATH), or -EBADF; on hybrid hosts it can sit
                                       * beside v1 leaves (it still gives cgroup.kill, cpu.stat) */
    char v2_path[SV_PATH_MAX];
    bool v1_cpuacct;                  /* the v1 cpu leaf also carries cpuacct (mounted together) */
    bool reaped;
};

/* Starts argv. Returns 0 with *ret filled, or:
 *   -ENOENT  the command was not found (exit SV_EXIT_NOTFOUND);
 *   -EACCES, -ENOEXEC, -EISDIR, -ELOOP, -ENOTDIR… it was found but could not be executed
 *            (SV_EXIT_NOEXEC); the errno comes back from the child over a CLOEXEC pipe;
 *   -EOPNOTSUPP  limits were asked for and no cgroup could be made (isolation_desc says why);
 *   -EINVAL  bad options (no argv[0]; want_cgroup without a valid cgroup_name; limits without
 *            want_cgroup); other -errno for fork/clone failures.
 * The child: own process group (setpgid in both parent and child, no race), default signal
 * dispositions and an empty signal mask, every fd above 2 closed, stdin/stdout/stderr inherited.
 * It execs only once the parent has placed it (group, cgroups, terminal).
 * On failure nothing is left behind (no child, no cgroup), and *ret is left empty (pid 0, no fds,
 * so sv_child_done() on it is harmless) but for isolation_desc, which says why on -EOPNOTSUPP. */
int sv_spawn(const struct sv_spawn_options *o, struct sv_child *ret);

/* Sends sig to every process of the task: kill(-pgid) and, in a cgroup, every pid listed in it
 * (processes that left the group with setsid are still in the cgroup). SIGKILL in a v2 cgroup
 * uses cgroup.kill where the kernel has it. Sends SIGCONT after a stop-able signal like GNU
 * timeout does (so a stopped task can act on it). Returns 0, or -ESRCH when nothing was left. */
int sv_signal(struct sv_child *c, int sig);

/* What the task uses now; peak_* keep the most seen by sv_sample() so far, and the cgroup's own
 * peak where the kernel keeps one (v2 memory.peak, v1 memory.max_usage_in_bytes). cpu_usec,
 * io_*_bytes and wchar_bytes count up and never go back (a process that exits takes its share
 * out of the /proc sums; the largest total seen is kept). */
struct sv_usage {
    uint64_t rss_bytes;        /* cgroup memory.current (v1: usage_in_bytes), else Σ VmRSS of the
                                * processes of its group */
    uint64_t peak_rss_bytes;
    uint64_t cpu_usec;         /* user + system of the whole task so far */
    uint64_t io_read_bytes, io_write_bytes;  /* Σ /proc/PID/io read_bytes/write_bytes (bytes that
                                              * reached the block layer), or the cgroup's io.stat */
    uint64_t wchar_bytes;      /* Σ /proc/PID/io wchar: what it wrote, to files, pipes or a tty */
    unsigned processes, threads, fds;
};

/* Samples the task into *u (updating its peaks; *u must start zeroed). Returns 0, -ESRCH when no
 * process of the task is left (u keeps its last values). Reads /proc and the cgroup only. */
int sv_sample(struct sv_child *c, struct sv_usage *u);

/* The start time of process pid (/proc/PID/stat field 22, clock ticks since boot), which tells a
 * process from a later one that reused its pid. proc_fd: /proc (or a fixture). 0, -ESRCH (no
 * such process, or a zombie: it has ended), -EBADMSG. */
int sv_process_start_time(int proc_fd, pid_t pid, uint64_t *ret_ticks);

/* The process group of process pid (/proc/PID/stat field 5). 0, -ESRCH, -EBADMSG, -EINVAL. */
int sv_process_group(int proc_fd, pid_t pid, pid_t *ret_pgid);

/* Who owns process pid (its real uid) and when it started (as sv_process_start_time()): what a
 * daemon checks before it takes a pid a client names as that client's, and again before it
 * signals it. 0, -ESRCH (no such process, or a zombie), -EBADMSG, -EINVAL. */
int sv_process_identity(int proc_fd, pid_t pid, uint32_t *ret_uid, uint64_t *ret_start_ticks);

/* How a task ended. */
struct sv_end {
    bool exited;               /* exit(code) */
    int code;                  /* the exit code, or the signal that killed it */
    bool core_dumped;
    struct rusage rusage;      /* of the child (wait4): ru_maxrss is its largest single process */
    uint64_t peak_rss_bytes;   /* the largest of the cgroup's peak, rusage and sv_sample */
    uint64_t cpu_usec;         /* rusage user + system of the reaped child and its reaped
                                * descendants, or the cgroup's cpu usage or sv_sample's when
                                * larger */
    usec_t duration_usec;      /* from started_usec to the reap */
};

/* Waits for the child (flags 0) or checks (WNOHANG: -EAGAIN while it runs), reaps it with its
 * rusage, reads the cgroup's final figures, kills what is left of the task in its cgroup
 * (cgroup.kill / SIGKILL to its pids), removes the cgroup, and gives the terminal back. usage may
 * be NULL (else its peaks feed end->peak_rss_bytes). Returns 0 with *ret filled. */
int sv_reap(struct sv_child *c, int flags, const struct sv_usage *usage, struct sv_end *ret);

/* The exit code a wrapper should return for end (timed_out: it was killed by our timeout):
 * its own code; 128 + signal; SV_EXIT_TIMEOUT when timed_out. */
int sv_exit_code(const struct sv_end *end, bool timed_out);

/* Frees what sv_spawn() holds if sv_reap() was never called (the pidfd, cgroup fds); kills
 * nothing. Takes NULL. */
void sv_child_done(struct sv_child *c);

/* ==== Suspending and resuming a task from outside it (freeze.c) ================================
 *
 * For the daemon's protective mode: a task is named by the pid that leads its process group (as
 * sv_spawn() makes it), and every host file is opened below root_fd ("/" in production, a fixture
 * tree in tests). The first method that applies is used:
 *   1. its cgroup v2 leaf is one of headroom's (last component "headroom-…", as `headroom run`
 *      names them) and has cgroup.freeze: "1" / "0" there;
 *   2. its v1 freezer cgroup is such a leaf: freezer.state "FROZEN" / "THAWED";
 *   3. SIGSTOP / SIGCONT to its process group, only after checking that pid is alive and leads its
 *      own group (pgid == pid), so an unrelated group is never signalled.
 * A cgroup freeze stops every process of the leaf, those that left the group included, and the
 * task cannot catch or notice it; SIGSTOP is seen by a parent that waits with WUNTRACED and by a
 * shell. */

/* The name prefix of the cgroup leaves headroom makes (cmd-run.c: "headroom-run-PID"). */
#define SV_FREEZE_LEAF_PREFIX "headroom-"

enum sv_freeze_method {
    SV_FREEZE_CGROUP_V2,        /* cgroup.freeze of the v2 leaf */
    SV_FREEZE_CGROUP_V1,        /* freezer.state of the v1 freezer leaf */
    SV_FREEZE_SIGNAL,           /* SIGSTOP / SIGCONT to the process group */
    _SV_FREEZE_METHOD_MAX,
    _SV_FREEZE_METHOD_INVALID = -22,
};

/* "cgroup.freeze", "freezer.state", "SIGSTOP"; NULL for anything else. */
const char *sv_freeze_method_to_string(enum sv_freeze_method m);

struct sv_freeze_info {
    enum sv_freeze_method method;
    char cgroup_path[SV_PATH_MAX]; /* the leaf as the host names it, without root_fd's tree
                                    * ("/sys/fs/cgroup/unified/headroom-run-12"); "" for SIGSTOP */
};

/* Where a task could be frozen: its headroom leaves, "" where it has none. */
struct sv_freeze_where {
    char v2_leaf[SV_PATH_MAX];
    char v1_leaf[SV_PATH_MAX];     /* in the v1 freezer hierarchy */
};

/* Decides, from the texts of the task's proc/PID/cgroup (cgroups(7)) and our
 * proc/self/mountinfo (proc(5)), which of its cgroups are headroom leaves and where they are.
 * Pure: no I/O. The v2 leaf is joined as sv_cgroup_plan_make() does (read-only mounts, ".."
 * components and paths outside the mounted subtree give none); the v1 freezer mount is the first
 * "cgroup" mount whose super options list "freezer", used only when read-write and written without
 * octal escapes. A leaf is a headroom one when the last component of the task's path starts with
 * SV_FREEZE_LEAF_PREFIX and has more after it. Returns 0 with *ret filled (possibly with no leaf
 * at all: a text that cannot be read gives none), -EINVAL for a NULL argument, -ENOMEM. */
int sv_freeze_locate(const char *mountinfo,
                     size_t mountinfo_n,
                     const char *pid_cgroup,
                     size_t pid_cgroup_n,
                     struct sv_freeze_where *ret);

/* Sends sig to the process group that pid leads, after the checks of method 3: pid alive (not a
 * zombie) and its own group's leader, and neither 1 nor our own process or group (kill(-1) would
 * reach every process). For signals the caller sends a task itself, a checkpoint signal say.
 * sig 0 only checks. Returns 0, -ESRCH (gone, a zombie, or not a group leader), -EINVAL (root_fd
 * < 0, pid ≤ 0, pid 1 or ours, sig out of range), -EPERM, or another -errno reading proc/PID/stat.
 * Does not log. */
int sv_group_signal(int root_fd, pid_t pid, int sig);

/* Suspends (freeze true) or resumes (false) the task led by pid, by the first method above that
 * works: a leaf whose control file is missing (cgroup.freeze needs Linux 5.2) or refuses the write
 * falls through to the next, and so does a leaf we are in ourselves (proc/self/cgroup). ret may be
 * NULL; else it says how, on success only. Returns 0, or:
 *   -ESRCH   pid is gone or a zombie, or (for the signal) does not lead its process group;
 *   -EINVAL  root_fd < 0, pid ≤ 0, or, for the signal, pid 1 or our own process or group;
 *   -EPERM   the signal was not allowed; -ENOMEM; another -errno reading proc/PID.
 * The method is chosen afresh on each call; a task stays in the leaf it was started in, so a
 * resume takes the way its suspend took. Does not log. */
int sv_freeze(int root_fd, pid_t pid, bool freeze, struct sv_freeze_info *ret);

/* Whether the task led by pid is frozen now, asked of the method sv_freeze() would use:
 * cgroup.events "frozen 1" (v2), freezer.state "FROZEN" (v1; "FREEZING" is not yet), or every live
 * process of the group in state 'T' (stopped). A freeze takes effect asynchronously, so a caller
 * that needs it done polls this. Returns 1 frozen, 0 not (yet), or -ESRCH (gone, or no process
 * left in the group), -EBADMSG (a freezer.state it does not know), -EINVAL, -ENOMEM, another
 * -errno. ret as for sv_freeze(). Does not log. */
int sv_frozen_state(int root_fd, pid_t pid, struct sv_freeze_info *ret);
