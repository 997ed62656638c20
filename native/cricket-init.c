/*
 * cricket-init: the process `cricket serve` becomes, so that every process cricket starts ends up
 * reaped by cricket itself and never by the host's init.
 *
 * Usage: cricket-init PROGRAM [ARGS...]
 *
 * It marks itself a child subreaper, then runs PROGRAM (the Node daemon) as its child. pause is
 * left behind by `runc run --detach`, conmon double-forks, and a container whose conmon died loses
 * its parent: all of them are re-parented here instead of to PID 1, and reaped as soon as they
 * exit, whatever the host's init does.
 *
 * It stays what the caller started: SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1 and SIGUSR2 sent
 * to it are passed on to the daemon; it exits when the daemon does, with the daemon's status
 * (dying of the same signal if the daemon died of one). If it is SIGKILLed, the kernel kills the
 * daemon too (PR_SET_PDEATHSIG). Pods and containers are not its children's children by design:
 * they outlive both, as they outlive the daemon.
 *
 * Only stdin, stdout and stderr go on to the daemon: any other descriptor its caller left open
 * (a shell's pipe, a job runner's socket) would otherwise be held by every conmon and runc the
 * daemon starts, long after the caller and the daemon are gone.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static const int forwarded[] = {SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
#define NFORWARDED (sizeof(forwarded) / sizeof(forwarded[0]))

/* Closes every descriptor above stderr: close_range(2), or one by one on kernels before 5.9. */
static int close_inherited(void) {
    if (syscall(SYS_close_range, 3U, ~0U, 0U) == 0) return 0;
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) return -1;
    int own = dirfd(dir);
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        char *end;
        long fd = strtol(entry->d_name, &end, 10);
        if (*end == '\0' && end != entry->d_name && fd > 2 && fd != own) close((int)fd);
    }
    closedir(dir);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s PROGRAM [ARGS...]\n", argv[0]);
        return 2;
    }
    if (close_inherited() != 0) {
        perror("cricket-init: closing inherited descriptors");
        return 1;
    }
    if (prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0) {
        perror("cricket-init: PR_SET_CHILD_SUBREAPER");
        return 1;
    }

    /* Signals are taken with sigwaitinfo(): no handler may race the wait loop. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    for (size_t i = 0; i < NFORWARDED; i++) sigaddset(&set, forwarded[i]);
    if (sigprocmask(SIG_BLOCK, &set, &old) != 0) {
        perror("cricket-init: sigprocmask");
        return 1;
    }

    pid_t self = getpid();
    pid_t daemon = fork();
    if (daemon < 0) {
        perror("cricket-init: fork");
        return 1;
    }
    if (daemon == 0) {
        /* Dies with the wrapper, even of SIGKILL; and if the wrapper is already gone, do not start. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0 || getppid() != self) _exit(1);
        sigprocmask(SIG_SETMASK, &old, NULL);
        signal(SIGPIPE, SIG_DFL);
        execv(argv[1], argv + 1);
        fprintf(stderr, "cricket-init: exec %s: %s\n", argv[1], strerror(errno));
        _exit(127);
    }

    int daemon_status = 0;
    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&set, &info);
        if (sig < 0) {
            if (errno == EINTR) continue;
            perror("cricket-init: sigwaitinfo");
            kill(daemon, SIGTERM);
            return 1;
        }
        if (sig != SIGCHLD) {
            /* A terminal's ^C reaches the whole process group, the daemon included: pass on
             * only what was sent to this process alone. */
            if (info.si_code != SI_KERNEL) kill(daemon, sig);
            continue;
        }
        /* One SIGCHLD may stand for many exits: reap every child that has ended. */
        int daemon_done = 0;
        for (;;) {
            int status;
            pid_t pid = waitpid(-1, &status, WNOHANG);
            if (pid < 0 && errno == EINTR) continue;
            if (pid <= 0) break;
            if (pid == daemon) {
                daemon_status = status;
                daemon_done = 1;
            }
        }
        if (daemon_done) break;
    }

    if (WIFSIGNALED(daemon_status)) {
        int sig = WTERMSIG(daemon_status);
        signal(sig, SIG_DFL);
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        sigprocmask(SIG_UNBLOCK, &one, NULL);
        kill(self, sig);
        return 128 + sig;
    }
    return WIFEXITED(daemon_status) ? WEXITSTATUS(daemon_status) : 1;
}
