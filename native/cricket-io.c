/*
 * cricket-io: the few stdio jobs Node.js cannot do itself, one short-lived process per use.
 *
 *   cricket-io attach DIR [--stdin]
 *       Connects to conmon's attach socket DIR/attach (SOCK_SEQPACKET; each packet from conmon
 *       is one byte naming the pipe, conmon's STDOUT_PIPE 2 or STDERR_PIPE 3, then the data) and
 *       relays: packets
 *       to fd 1 or fd 2, fd 0 to the socket when --stdin is given (its end shuts the socket's
 *       write side, which conmon takes as the end of the container's stdin when stdin_once).
 *       DIR is opened and reached as /proc/self/fd/N, so its length does not matter. Errors go
 *       to fd 3 when it is open (fd 2 is the container's stderr).
 *
 *   cricket-io connect NETNS PORT
 *       Enters the network namespace pinned at NETNS, connects to localhost:PORT (127.0.0.1,
 *       then ::1) and relays fd 0 to the connection and the connection to fd 1, with half-close.
 *       Connection errors are printed on stderr and end the process with status 1.
 *
 *   cricket-io exec [--tty] DIR PIDFILE -- RUNC ARGS...
 *       Runs `RUNC ARGS...` (a `runc exec --detach ...`) as a child subreaper, so that the
 *       exec'd process is re-parented here and its exit status can be collected. With --tty,
 *       the argument "@CONSOLE@" is replaced by a console socket made in DIR; the pty master
 *       runc sends over it is relayed (fd 0 to the pty, the pty to fd 1), and "ROWS COLS\n"
 *       lines on fd 4 resize it. Without --tty the process gets fds 0, 1, 2 directly.
 *       Status lines on fd 3: "started PID", then "exit CODE" (128+N for a signal N), or
 *       "error MESSAGE" if runc failed (runc's own message is on stderr).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "recv-fd.h"

#define BUF_SIZE 32768
/* conmon reads at most CONN_SOCK_BUF_SIZE - 1 (32767) bytes per packet: stay below it. */
#define ATTACH_CHUNK 8192
/* conmon's stdpipe_t (src/utils.h): NO_PIPE, STDIN_PIPE, STDOUT_PIPE, STDERR_PIPE. */
#define CONMON_STDOUT_PIPE 2
#define CONMON_STDERR_PIPE 3

/* Where errors go: stderr, or fd 3 when stderr carries a container's data (attach). */
static int diag_fd = 2;

/* Formats one newline-terminated line into buf, truncating to fit; returns its length. */
static size_t format_line(char *buf, size_t size, const char *fmt, va_list ap) {
    int n = vsnprintf(buf, size - 1, fmt, ap);
    if (n < 0) n = 0;
    if (n > (int)size - 2) n = (int)size - 2;
    buf[n++] = '\n';
    return (size_t)n;
}

static void die(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    size_t n = format_line(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (write(diag_fd, msg, n) < 0) { /* nowhere left to report */ }
    exit(1);
}

static int write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) {
                struct pollfd p = {fd, POLLOUT, 0};
                poll(&p, 1, -1);
                continue;
            }
            return -1;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* ---------------------------------------------------------------- attach */

static int cmd_attach(int argc, char **argv) {
    if (argc < 1) die("usage: attach DIR [--stdin]");
    int with_stdin = argc > 1 && strcmp(argv[1], "--stdin") == 0;
    if (fcntl(3, F_GETFD) >= 0) diag_fd = 3;
    signal(SIGPIPE, SIG_IGN);
    int dirfd = open(argv[0], O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0) die("open %s: %s", argv[0], strerror(errno));
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/attach", dirfd);
    int sock = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (sock < 0) die("socket: %s", strerror(errno));
    if (connect(sock, (struct sockaddr *)&addr, sizeof addr) < 0) die("connect to %s/attach: %s", argv[0], strerror(errno));

    static char buf[BUF_SIZE + 1];
    int stdin_open = with_stdin;
    for (;;) {
        struct pollfd fds[2] = {{sock, POLLIN, 0}, {0, POLLIN, 0}};
        int n = poll(fds, stdin_open ? 2 : 1, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("poll: %s", strerror(errno));
        }
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
            ssize_t r = recv(sock, buf, sizeof buf, 0);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) return 0; /* the container's stdio is gone */
            if (r > 1) {
                int out = buf[0] == CONMON_STDERR_PIPE ? 2 : 1;
                if (write_all(out, buf + 1, (size_t)r - 1) < 0) return 0;
            }
        }
        if (stdin_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t r = read(0, buf, ATTACH_CHUNK);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                stdin_open = 0;
                shutdown(sock, SHUT_WR);
                continue;
            }
            if (send(sock, buf, (size_t)r, MSG_NOSIGNAL) < 0) return 0;
        }
    }
}

/* ---------------------------------------------------------------- connect */

static int try_connect(int family, int port) {
    int s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    int rc;
    if (family == AF_INET) {
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        rc = connect(s, (struct sockaddr *)&a, sizeof a);
    } else {
        struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
        a.sin6_addr = in6addr_loopback;
        rc = connect(s, (struct sockaddr *)&a, sizeof a);
    }
    if (rc < 0) {
        int saved = errno;
        close(s);
        errno = saved;
        return -1;
    }
    return s;
}

static int cmd_connect(int argc, char **argv) {
    if (argc < 2) die("usage: connect NETNS PORT");
    int port = atoi(argv[1]);
    signal(SIGPIPE, SIG_IGN);
    if (port < 1 || port > 65535) die("invalid port %s", argv[1]);
    /* No namespace is never "the node's": the node's network is reached without this tool. */
    if (argv[0][0] == '\0') die("no network namespace given");
    int ns = open(argv[0], O_RDONLY | O_CLOEXEC);
    if (ns < 0) die("open network namespace %s: %s", argv[0], strerror(errno));
    /* setns refuses anything but a network namespace: an unpinned path's empty file fails here. */
    if (setns(ns, CLONE_NEWNET) < 0) die("enter network namespace %s: %s", argv[0], strerror(errno));
    close(ns);
    int sock = try_connect(AF_INET, port);
    if (sock < 0) {
        int err4 = errno;
        sock = try_connect(AF_INET6, port);
        if (sock < 0) die("dial tcp localhost:%d: %s", port, strerror(err4));
    }

    static char buf[BUF_SIZE];
    int in_open = 1, out_open = 1;
    while (in_open || out_open) {
        struct pollfd fds[2] = {{sock, out_open ? POLLIN : 0, 0}, {0, in_open ? POLLIN : 0, 0}};
        int n = poll(fds, 2, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("poll: %s", strerror(errno));
        }
        if (out_open && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t r = read(sock, buf, sizeof buf);
            if (r < 0 && errno == EINTR) continue;
            if (r < 0 && errno != ECONNRESET) die("read: %s", strerror(errno));
            if (r <= 0) {
                out_open = 0;
                close(1);
                if (r < 0) return 0;
            } else if (write_all(1, buf, (size_t)r) < 0) {
                return 0;
            }
        }
        if (in_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t r = read(0, buf, sizeof buf);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                in_open = 0;
                shutdown(sock, SHUT_WR);
            } else if (send(sock, buf, (size_t)r, MSG_NOSIGNAL) < 0) {
                return 0;
            }
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- exec */

static int sigchld_pipe[2] = {-1, -1};

static void on_sigchld(int sig) {
    (void)sig;
    int saved = errno;
    if (write(sigchld_pipe[1], "c", 1) < 0) { /* full pipe: a wake-up is already pending */ }
    errno = saved;
}

static void status_line(const char *fmt, ...) {
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    size_t n = format_line(line, sizeof line, fmt, ap);
    va_end(ap);
    write_all(3, line, n);
}

static int exit_code(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 255;
}

/* Applies "ROWS COLS" lines from the control fd to the terminal. */
static void apply_resizes(int ctl, int master, char *acc, size_t *acc_len, int *ctl_open) {
    char buf[256];
    ssize_t r = read(ctl, buf, sizeof buf);
    if (r < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (r <= 0) {
        *ctl_open = 0;
        return;
    }
    for (ssize_t i = 0; i < r; i++) {
        if (buf[i] != '\n') {
            if (*acc_len < 63) acc[(*acc_len)++] = buf[i];
            continue;
        }
        acc[*acc_len] = '\0';
        *acc_len = 0;
        unsigned rows = 0, cols = 0;
        if (master >= 0 && sscanf(acc, "%u %u", &rows, &cols) == 2 && rows > 0 && cols > 0) {
            struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
            ioctl(master, TIOCSWINSZ, &ws);
        }
    }
}

static int cmd_exec(int argc, char **argv) {
    int tty = 0;
    if (argc > 0 && strcmp(argv[0], "--tty") == 0) {
        tty = 1;
        argc--;
        argv++;
    }
    if (argc < 4 || strcmp(argv[2], "--") != 0) die("usage: exec [--tty] DIR PIDFILE -- RUNC ARGS...");
    const char *dir = argv[0];
    const char *pidfile = argv[1];
    char **runc_argv = argv + 3;
    fcntl(3, F_SETFD, FD_CLOEXEC);
    fcntl(4, F_SETFD, FD_CLOEXEC);
    signal(SIGPIPE, SIG_IGN);

    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) die("PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
    if (pipe2(sigchld_pipe, O_CLOEXEC | O_NONBLOCK) < 0) die("pipe: %s", strerror(errno));
    struct sigaction sa = {0};
    sa.sa_handler = on_sigchld;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);

    int listener = -1, dirfd = -1;
    char sockname[64], console_path[128];
    if (tty) {
        dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0) die("open %s: %s", dir, strerror(errno));
        snprintf(sockname, sizeof sockname, "console-%d.sock", (int)getpid());
        struct sockaddr_un addr = {.sun_family = AF_UNIX};
        snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dirfd, sockname);
        unlinkat(dirfd, sockname, 0);
        listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (listener < 0) die("socket: %s", strerror(errno));
        if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind console socket: %s", strerror(errno));
        if (listen(listener, 1) < 0) die("listen: %s", strerror(errno));
        snprintf(console_path, sizeof console_path, "/proc/%d/fd/%d/%s", (int)getpid(), dirfd, sockname);
        for (char **a = runc_argv; *a; a++)
            if (strcmp(*a, "@CONSOLE@") == 0) *a = console_path;
    }

    pid_t runc = fork();
    if (runc < 0) die("fork: %s", strerror(errno));
    if (runc == 0) {
        if (tty) {
            int null = open("/dev/null", O_RDWR);
            dup2(null, 0);
            dup2(null, 1);
        }
        signal(SIGPIPE, SIG_DFL);
        execvp(runc_argv[0], runc_argv);
        fprintf(stderr, "exec %s: %s\n", runc_argv[0], strerror(errno));
        _exit(127);
    }

    int master = -1;
    int runc_status = -1;
    if (tty) {
        /* Wait for runc to hand over the pty, or to fail. */
        for (;;) {
            struct pollfd p = {listener, POLLIN, 0};
            int n = poll(&p, 1, 100);
            if (n > 0) {
                int conn = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
                if (conn < 0) continue;
                master = recv_fd(conn);
                close(conn);
                break;
            }
            pid_t w = waitpid(runc, &runc_status, WNOHANG);
            if (w == runc) break;
        }
        close(listener);
        unlinkat(dirfd, sockname, 0);
    }
    if (runc_status == -1) {
        while (waitpid(runc, &runc_status, 0) < 0 && errno == EINTR) {}
    }
    if (exit_code(runc_status) != 0) {
        status_line("error runc exited with %d", exit_code(runc_status));
        return 1;
    }
    if (tty && master < 0) {
        status_line("error runc did not send a terminal");
        return 1;
    }

    char pidbuf[32] = {0};
    int pf = open(pidfile, O_RDONLY | O_CLOEXEC);
    if (pf < 0 || read(pf, pidbuf, sizeof pidbuf - 1) <= 0) {
        status_line("error cannot read the exec pid file %s", pidfile);
        return 1;
    }
    close(pf);
    pid_t target = (pid_t)atoi(pidbuf);
    status_line("started %d", (int)target);
    if (!tty) {
        /* The process has the stdio pipes; holding them here would delay their end. */
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        close(null);
    } else {
        fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK);
    }

    static char buf[BUF_SIZE];
    char acc[64];
    size_t acc_len = 0;
    int stdin_open = tty, ctl_open = tty, out_open = tty;
    int target_status = -1;
    for (;;) {
        /* Collect every exited child: the target and any orphan re-parented here. */
        for (;;) {
            int st;
            pid_t w = waitpid(-1, &st, WNOHANG);
            if (w <= 0) break;
            if (w == target) target_status = st;
        }
        if (target_status != -1) break;
        struct pollfd fds[4] = {
            {sigchld_pipe[0], POLLIN, 0},
            {master, out_open ? POLLIN : 0, 0},
            {stdin_open ? 0 : -1, POLLIN, 0},
            {ctl_open ? 4 : -1, POLLIN, 0},
        };
        int n = poll(fds, 4, -1);
        if (n < 0) {
            if (errno == EINTR) continue;
            die("poll: %s", strerror(errno));
        }
        if (fds[0].revents & POLLIN) {
            while (read(sigchld_pipe[0], buf, sizeof buf) > 0) {}
        }
        if (out_open && (fds[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t r = read(master, buf, sizeof buf);
            if (r > 0) {
                if (write_all(1, buf, (size_t)r) < 0) out_open = 0;
            } else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
                out_open = 0; /* EIO: no process has the terminal open any more */
            }
        }
        if (stdin_open && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t r = read(0, buf, sizeof buf);
            if (r > 0) {
                write_all(master, buf, (size_t)r);
            } else if (r == 0 || errno != EINTR) {
                stdin_open = 0;
            }
        }
        if (ctl_open && (fds[3].revents & (POLLIN | POLLHUP | POLLERR))) {
            apply_resizes(4, master, acc, &acc_len, &ctl_open);
        }
    }
    if (tty && out_open) {
        /* What the process wrote just before it ended. */
        for (;;) {
            ssize_t r = read(master, buf, sizeof buf);
            if (r <= 0) break;
            if (write_all(1, buf, (size_t)r) < 0) break;
        }
    }
    status_line("exit %d", exit_code(target_status));
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) die("usage: cricket-io attach|connect|exec ...");
    if (strcmp(argv[1], "attach") == 0) return cmd_attach(argc - 2, argv + 2);
    if (strcmp(argv[1], "connect") == 0) return cmd_connect(argc - 2, argv + 2);
    if (strcmp(argv[1], "exec") == 0) return cmd_exec(argc - 2, argv + 2);
    die("unknown command %s", argv[1]);
    return 1;
}
