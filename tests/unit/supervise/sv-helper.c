/* SPDX-License-Identifier: MIT */
/* A small program the supervise tests run under supervision, so that they do not depend on what
 * perl or python happen to do with memory:
 *   sv-helper alloc MIB SECONDS     touch MIB MiB of anonymous memory, then sleep; exit 3 when the
 *                                   mapping fails
 *   sv-helper spin SECONDS          burn CPU for SECONDS of wall time
 *   sv-helper forks N SECONDS       fork N sleeping children; exit with how many forks worked
 *   sv-helper fds N SECONDS         hold N more open fds, then sleep
 *   sv-helper write BYTES SECONDS   write BYTES to /dev/null, then sleep
 *   sv-helper check-clean           exit 0 when no fd above 2 is open, the signal mask is empty
 *                                   and SIGINT, SIGPIPE, SIGTERM, SIGUSR1 are at SIG_DFL; else
 *                                   exit 10 + what failed */

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static void sleep_s(double s)
{
    struct timespec ts = { (time_t) s, (long) ((s - (double) (time_t) s) * 1e9) };
    while (nanosleep(&ts, &ts) < 0)
        ;
}

static int check_clean(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (!d)
        return 10;
    int self = dirfd(d);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        int fd = atoi(de->d_name);
        if (fd > 2 && fd != self) {
            fprintf(stderr, "sv-helper: fd %d is open\n", fd);
            closedir(d);
            return 11;
        }
    }
    closedir(d);

    sigset_t mask;
    sigprocmask(SIG_SETMASK, NULL, &mask);
    for (int sig = 1; sig < 32; sig++)
        if (sigismember(&mask, sig)) {
            fprintf(stderr, "sv-helper: signal %d is blocked\n", sig);
            return 12;
        }
    const int sigs[] = { SIGINT, SIGPIPE, SIGTERM, SIGUSR1 };
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction sa;
        sigaction(sigs[i], NULL, &sa);
        if (sa.sa_handler != SIG_DFL) {
            fprintf(stderr, "sv-helper: signal %d is not SIG_DFL\n", sigs[i]);
            return 13;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    const char *cmd = argv[1];
    if (strcmp(cmd, "check-clean") == 0)
        return check_clean();
    if (argc < 3)
        return 2;
    double a = atof(argv[2]), secs = argc > 3 ? atof(argv[3]) : 0;

    if (strcmp(cmd, "alloc") == 0) {
        size_t len = (size_t) a * 1024 * 1024;
        char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return 3;
        for (size_t i = 0; i < len; i += 4096)
            p[i] = (char) i | 1;
        sleep_s(secs);
        return p[len / 2] == 0 ? 4 : 0;
    }
    if (strcmp(cmd, "spin") == 0) {
        volatile unsigned long x = 0;
        double end = now_s() + a;
        while (now_s() < end)
            for (int i = 0; i < 100000; i++)
                x += (unsigned long) i;
        return x == 1 ? 5 : 0; /* uses x, so the loop is not optimised away */
    }
    if (strcmp(cmd, "forks") == 0) {
        int ok = 0;
        for (int i = 0; i < (int) a; i++) {
            pid_t p = fork();
            if (p == 0) {
                sleep_s(secs);
                _exit(0);
            }
            if (p > 0)
                ok++;
        }
        while (wait(NULL) > 0)
            ;
        return ok;
    }
    if (strcmp(cmd, "fds") == 0) {
        for (int i = 0; i < (int) a; i++)
            if (open("/dev/null", O_RDONLY) < 0)
                return 3;
        sleep_s(secs);
        return 0;
    }
    if (strcmp(cmd, "write") == 0) {
        int fd = open("/dev/null", O_WRONLY);
        char buf[4096];
        memset(buf, 'x', sizeof buf);
        for (size_t left = (size_t) a; left > 0;) {
            size_t n = left < sizeof buf ? left : sizeof buf;
            ssize_t k = write(fd, buf, n);
            if (k <= 0)
                return 3;
            left -= (size_t) k;
        }
        sleep_s(secs);
        return 0;
    }
    return 2;
}
