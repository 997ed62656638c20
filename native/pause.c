/*
 * pause: the process that holds a pod's namespaces open.
 *
 * It does nothing but wait. SIGINT and SIGTERM end it with status 0. When the pod shares one
 * PID namespace it is PID 1 there, so orphaned processes are re-parented to it: it reaps them
 * on SIGCHLD so they do not pile up as zombies.
 *
 * The signals are blocked and taken with sigwaitinfo() rather than handled asynchronously:
 * no races between a handler and the wait, and blocked signals reach PID 1 of a namespace
 * (the kernel drops signals a namespace's init leaves at SIG_DFL and unblocked).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAUSE_VERSION "cricket-pause 1.0"

static void reap_children(void) {
    /* One SIGCHLD may stand for several exits: collect every child that has exited. */
    for (;;) {
        pid_t pid = waitpid(-1, NULL, WNOHANG);
        if (pid > 0) continue;
        if (pid < 0 && errno == EINTR) continue;
        break;
    }
}

int main(int argc, char **argv) {
    if (argc > 1) {
        if (strcmp(argv[1], "-v") == 0 || strcmp(argv[1], "--version") == 0) {
            puts(PAUSE_VERSION);
            return 0;
        }
        fprintf(stderr, "usage: %s [-v]\n", argv[0]);
        return 2;
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0) {
        perror("pause: sigprocmask");
        return 1;
    }

    /* Children that exited before the mask was set sent their SIGCHLD already. */
    reap_children();

    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&set, &info);
        if (sig < 0) {
            if (errno == EINTR) continue;
            perror("pause: sigwaitinfo");
            return 1;
        }
        if (sig == SIGCHLD) {
            reap_children();
            continue;
        }
        /* SIGINT or SIGTERM: the pod is being stopped. */
        return 0;
    }
}
