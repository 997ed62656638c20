/*
 * cricket-monitor: the process that watches one container for its whole life. It takes conmon's
 * command line (the options cricket passes) and speaks conmon's protocols, so that either may be
 * configured; being one small static program, it starts in a fraction of conmon's time, and its
 * start is on the path of every CreateContainer.
 *
 *   cricket-monitor --cid ID --bundle DIR --runtime PATH [--runtime-arg ARG]...
 *       --container-pidfile FILE --conmon-pidfile FILE --log-path [k8s-file:]FILE
 *       --exit-dir DIR [--stdin [--leave-stdin-open]] [--terminal]
 *       [--restore IMAGES [--runtime-opt OPT]...]      (other conmon options are accepted, unused)
 *
 * Environment: _OCI_SYNCPIPE and _OCI_STARTPIPE name two inherited descriptors.
 *
 * It first reads the start pipe: the bundle may still be in the making until something arrives.
 * End of file with nothing read means the caller gave up (or died): it exits having run nothing.
 * Then it forks the monitor, writes the monitor's pid to the conmon pid file and exits. The
 * monitor, in a session of its own and a child subreaper, runs `RUNTIME create` (or `restore
 * --detach`) with the container's stdio (pipes, or the pty the runtime sends over a console
 * socket), and reports on the sync pipe as conmon does: {"data": PID} once the runtime has made
 * the container (its pid file is written; the runtime may still be ending), {"data": -1,
 * "message": "..."} if it failed. From then on it:
 *   - writes the container's stdout and stderr to the log in the CRI format, one record per line
 *     ("TIMESTAMP STREAM F|P TEXT", P for a line cut at the end of a read);
 *   - serves the attach socket DIR/attach (SOCK_SEQPACKET): each packet to a client is one byte
 *     naming the stream (2 stdout, 3 stderr) then the data; what a client sends goes to the
 *     container's stdin, whose end (a client shutting its write side) closes that stdin unless
 *     --leave-stdin-open;
 *   - reads "TYPE HEIGHT WIDTH\n" lines from the FIFO DIR/ctl: 1 resizes the pty, 2 reopens the
 *     log (a new file renamed over the path, after kubelet has moved the old one away);
 *   - when the container's process ends, drains its output, writes its exit code (128+N for
 *     signal N) to EXIT_DIR/ID (by rename, so a reader never sees half a file) and exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "recv-fd.h"

/* Output is read, logged and passed to attach clients this much at a time (conmon's packet). */
#define CHUNK 8192
#define MAX_ARGS 64
#define MAX_CLIENTS 32
/* How long one packet may wait for a slow attach client before that client is dropped. */
#define CLIENT_SEND_WAIT_MS 5000
#define STDOUT_PIPE 2
#define STDERR_PIPE 3

struct options {
    const char *cid, *bundle, *runtime, *container_pidfile, *monitor_pidfile, *log_path, *exit_dir, *restore;
    const char *runtime_args[MAX_ARGS];
    int n_runtime_args;
    const char *runtime_opts[MAX_ARGS];
    int n_runtime_opts;
    int stdin_wanted, leave_stdin_open, terminal;
};

static struct options opt;
static int sync_fd = -1;

/* ---------------------------------------------------------------- reporting */

static void write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        buf += n;
        len -= (size_t)n;
    }
}

/* One JSON message on the sync pipe, as conmon writes it; the message is escaped. */
static void report(int data, const char *message) {
    if (sync_fd < 0) return;
    char out[CHUNK * 2 + 128];
    size_t n = (size_t)snprintf(out, sizeof out, "{\"data\": %d", data);
    if (message && *message) {
        n += (size_t)snprintf(out + n, sizeof out - n, ", \"message\": \"");
        for (const unsigned char *p = (const unsigned char *)message; *p && n < sizeof out - 16; p++) {
            if (*p == '"' || *p == '\\') {
                out[n++] = '\\';
                out[n++] = (char)*p;
            } else if (*p == '\n') {
                out[n++] = '\\';
                out[n++] = 'n';
            } else if (*p < 0x20) {
                n += (size_t)snprintf(out + n, sizeof out - n, "\\u%04x", *p);
            } else {
                out[n++] = (char)*p;
            }
        }
        out[n++] = '"';
    }
    out[n++] = '}';
    out[n++] = '\n';
    write_all(sync_fd, out, n);
    close(sync_fd);
    sync_fd = -1;
}

/* A failure before the container exists: said on the sync pipe (and stderr), then the end. */
static void fail(const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    write_all(2, msg, strlen(msg));
    write_all(2, "\n", 1);
    report(-1, msg);
    exit(1);
}

/* ---------------------------------------------------------------- command line */

static void parse_args(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        write_all(1, "cricket-monitor (conmon-compatible)\n", 36);
        exit(0);
    }
    for (int i = 1; i < argc; i++) {
        const char *name = argv[i];
        if (strcmp(name, "--stdin") == 0 || strcmp(name, "-i") == 0) { opt.stdin_wanted = 1; continue; }
        if (strcmp(name, "--leave-stdin-open") == 0) { opt.leave_stdin_open = 1; continue; }
        if (strcmp(name, "--terminal") == 0 || strcmp(name, "-t") == 0) { opt.terminal = 1; continue; }
        if (strcmp(name, "--sync") == 0 || strcmp(name, "--no-pivot") == 0 || strcmp(name, "--systemd-cgroup") == 0) {
            fail("cricket-monitor: %s is not supported", name);
        }
        if (i + 1 >= argc) fail("cricket-monitor: %s needs a value", name);
        const char *value = argv[++i];
        if (strcmp(name, "--cid") == 0 || strcmp(name, "-c") == 0) opt.cid = value;
        else if (strcmp(name, "--bundle") == 0 || strcmp(name, "-b") == 0) opt.bundle = value;
        else if (strcmp(name, "--runtime") == 0 || strcmp(name, "-r") == 0) opt.runtime = value;
        else if (strcmp(name, "--container-pidfile") == 0 || strcmp(name, "-p") == 0) opt.container_pidfile = value;
        else if (strcmp(name, "--conmon-pidfile") == 0 || strcmp(name, "-P") == 0) opt.monitor_pidfile = value;
        else if (strcmp(name, "--log-path") == 0 || strcmp(name, "-l") == 0) {
            if (strncmp(value, "k8s-file:", 9) == 0) value += 9;
            else if (strchr(value, ':') && value[0] != '/') fail("cricket-monitor: log driver of %s is not supported", value);
            opt.log_path = value;
        } else if (strcmp(name, "--exit-dir") == 0) opt.exit_dir = value;
        else if (strcmp(name, "--restore") == 0) opt.restore = value;
        else if (strcmp(name, "--runtime-arg") == 0) {
            if (opt.n_runtime_args >= MAX_ARGS) fail("cricket-monitor: too many --runtime-arg");
            opt.runtime_args[opt.n_runtime_args++] = value;
        } else if (strcmp(name, "--runtime-opt") == 0) {
            if (opt.n_runtime_opts >= MAX_ARGS) fail("cricket-monitor: too many --runtime-opt");
            opt.runtime_opts[opt.n_runtime_opts++] = value;
        }
        /* Accepted and unused: --api-version, --cuuid, --name, --socket-dir-path, --log-level. */
    }
    if (!opt.cid || !opt.bundle || !opt.runtime || !opt.container_pidfile || !opt.log_path || !opt.exit_dir) {
        fail("cricket-monitor: --cid, --bundle, --runtime, --container-pidfile, --log-path and --exit-dir are required");
    }
    if (strchr(opt.cid, '/') || strcmp(opt.cid, ".") == 0 || strcmp(opt.cid, "..") == 0) fail("cricket-monitor: invalid container id");
}

static int fd_from_env(const char *name) {
    const char *value = getenv(name);
    if (!value || !*value) return -1;
    char *end;
    long fd = strtol(value, &end, 10);
    if (*end || fd < 3 || fd > 1024 || fcntl((int)fd, F_SETFD, FD_CLOEXEC) < 0) fail("cricket-monitor: %s=%s is not an open descriptor", name, value);
    return (int)fd;
}

/* ---------------------------------------------------------------- the CRI log */

static int log_fd = -1;

static int open_log(const char *path, int flags) {
    return open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | flags, 0640);
}

/* kubelet has moved the log away: a new file takes its place, by rename, between two writes. */
static void reopen_log(void) {
    char tmp[4096];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", opt.log_path) >= sizeof tmp) return;
    int fd = open_log(tmp, O_TRUNC);
    if (fd < 0) return;
    if (rename(tmp, opt.log_path) < 0) {
        close(fd);
        unlink(tmp);
        return;
    }
    if (log_fd >= 0) close(log_fd);
    log_fd = fd;
}

/* "2006-01-02T15:04:05.000000000Z " in UTC: RFC 3339 with nanoseconds, as kubelet parses it. */
static size_t timestamp(char *buf, size_t size) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    return (size_t)snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                            tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

/* One record per line of buf; a last line without its newline is written as partial (P). */
static void write_log(int stream, const char *buf, size_t len) {
    if (log_fd < 0 || len == 0) return;
    char ts[48];
    size_t ts_len = timestamp(ts, sizeof ts);
    const char *name = stream == STDERR_PIPE ? "stderr " : "stdout ";
    struct iovec iov[IOV_MAX < 1024 ? IOV_MAX : 1024];
    int n = 0;
    while (len > 0) {
        const char *nl = memchr(buf, '\n', len);
        size_t line = nl ? (size_t)(nl - buf) : len;
        if (n + 5 > (int)(sizeof iov / sizeof iov[0])) {
            /* A full disk loses log lines, never the container. */
            if (writev(log_fd, iov, n) < 0) { /* dropped */ }
            n = 0;
        }
        iov[n++] = (struct iovec){ts, ts_len};
        iov[n++] = (struct iovec){(void *)name, 7};
        iov[n++] = (struct iovec){nl ? "F " : "P ", 2};
        iov[n++] = (struct iovec){(void *)buf, line};
        iov[n++] = (struct iovec){"\n", 1};
        if (!nl) break;
        buf += line + 1;
        len -= line + 1;
    }
    if (n > 0 && writev(log_fd, iov, n) < 0) { /* dropped */ }
}

/* ---------------------------------------------------------------- attach clients */

struct client {
    int fd;
    int reading; /* still sends stdin */
};

static struct client clients[MAX_CLIENTS];
static int n_clients;

static void drop_client(int i) {
    close(clients[i].fd);
    clients[i] = clients[--n_clients];
}

/* Output goes to every client; one that takes nothing for CLIENT_SEND_WAIT_MS is let go. */
static void send_to_clients(int stream, const char *buf, size_t len) {
    if (n_clients == 0) return;
    char packet[CHUNK + 1];
    packet[0] = (char)stream;
    memcpy(packet + 1, buf, len);
    for (int i = 0; i < n_clients;) {
        ssize_t sent;
        for (;;) {
            sent = send(clients[i].fd, packet, len + 1, MSG_DONTWAIT | MSG_NOSIGNAL);
            if (sent >= 0 || errno == EINTR) {
                if (sent >= 0) break;
                continue;
            }
            if (errno != EAGAIN) break;
            struct pollfd p = {clients[i].fd, POLLOUT, 0};
            if (poll(&p, 1, CLIENT_SEND_WAIT_MS) <= 0) break;
        }
        if (sent < 0) drop_client(i);
        else i++;
    }
}

/* ---------------------------------------------------------------- the container's process */

static pid_t container_pid = -1;
static int container_status = -1;
static int container_exited;
/* Exits reaped before the container's pid was known (a restore's process may end at once). */
static pid_t early_pids[16];
static int early_status[16];
static int n_early;

static void reap(pid_t runtime_pid, int *runtime_status, int *runtime_done) {
    for (;;) {
        int status;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) return;
        if (pid == runtime_pid) {
            *runtime_status = status;
            *runtime_done = 1;
        } else if (container_pid > 0 && pid == container_pid) {
            container_status = status;
            container_exited = 1;
        } else if (container_pid <= 0 && n_early < 16) {
            early_pids[n_early] = pid;
            early_status[n_early++] = status;
        }
    }
}

static int exit_code(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 255;
}

static void write_exit_file(int code) {
    int dir = open(opt.exit_dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) return;
    char tmp[300], text[16];
    snprintf(tmp, sizeof tmp, "%s.tmp", opt.cid);
    int len = snprintf(text, sizeof text, "%d", code);
    int fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) {
        ssize_t w = write(fd, text, (size_t)len);
        /* Written whole or not at all: the exit monitor's sweep covers an exit not written. */
        if (close(fd) == 0 && w == len) renameat(dir, tmp, dir, opt.cid);
        else unlinkat(dir, tmp, 0);
    }
    close(dir);
}

/* The pty master runc sends on a connection to the console socket; anything else is not taken. */
static int accept_pty_master(int console) {
    int conn = accept4(console, NULL, NULL, SOCK_CLOEXEC);
    if (conn < 0) return -1;
    int fd = recv_fd(conn);
    close(conn);
    if (fd >= 0 && !isatty(fd)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* A socket bound at NAME in the directory dir_fd, whatever the directory's path length. */
static int bind_in(int dir_fd, const char *name, int type, int backlog) {
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    snprintf(addr.sun_path, sizeof addr.sun_path, "/proc/self/fd/%d/%s", dir_fd, name);
    unlinkat(dir_fd, name, 0);
    int fd = socket(AF_UNIX, type | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    if (fchmod(fd, 0700) < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, backlog) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void set_nonblocking(int fd) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    sync_fd = fd_from_env("_OCI_SYNCPIPE");
    int start_fd = fd_from_env("_OCI_STARTPIPE");
    parse_args(argc, argv);
    umask(0022);

    if (start_fd >= 0) {
        char go[64];
        ssize_t r;
        do r = read(start_fd, go, sizeof go);
        while (r < 0 && errno == EINTR);
        /* Nothing came: whoever started us gave up before the bundle was whole. */
        if (r <= 0) return 0;
        close(start_fd);
    }

    pid_t monitor = fork();
    if (monitor < 0) fail("cricket-monitor: fork: %s", strerror(errno));
    if (monitor > 0) {
        if (opt.monitor_pidfile) {
            char text[16];
            int len = snprintf(text, sizeof text, "%d", (int)monitor);
            int fd = open(opt.monitor_pidfile, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
            if (fd < 0 || write(fd, text, (size_t)len) != len) {
                kill(monitor, SIGKILL);
                fail("cricket-monitor: writing %s: %s", opt.monitor_pidfile, strerror(errno));
            }
            close(fd);
        }
        _exit(0);
    }

    setsid();
    /* The container's process is re-parented here when the runtime exits; its status is ours. */
    if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) fail("cricket-monitor: PR_SET_CHILD_SUBREAPER: %s", strerror(errno));
    /* The node's OOM killer takes containers, not the process that reports their end. */
    int oom = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (oom >= 0) {
        if (write(oom, "-1000", 5) < 0) { /* not allowed: left as it is */ }
        close(oom);
    }

    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0) fail("cricket-monitor: /dev/null: %s", strerror(errno));
    int bundle_fd = open(opt.bundle, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (bundle_fd < 0) fail("cricket-monitor: bundle %s: %s", opt.bundle, strerror(errno));

    /* The container's stdio: pipes, or a pty whose master the runtime sends over a socket. */
    int out_fd = -1, err_fd = -1, in_fd = -1, master = -1;
    int worker_in = null_fd, worker_out = null_fd, worker_err;
    int p[2];
    int console = -1;
    char console_path[128] = "";
    if (opt.terminal) {
        console = bind_in(bundle_fd, "console.sock", SOCK_STREAM, 1);
        if (console < 0) fail("cricket-monitor: console socket in %s: %s", opt.bundle, strerror(errno));
        snprintf(console_path, sizeof console_path, "/proc/%d/fd/%d/console.sock", (int)getpid(), bundle_fd);
    } else {
        if (opt.stdin_wanted) {
            if (pipe2(p, O_CLOEXEC) < 0) fail("cricket-monitor: pipe: %s", strerror(errno));
            worker_in = p[0];
            in_fd = p[1];
        }
        if (pipe2(p, O_CLOEXEC) < 0) fail("cricket-monitor: pipe: %s", strerror(errno));
        out_fd = p[0];
        worker_out = p[1];
    }
    /* Always a pipe: the runtime's own errors arrive here before any pty exists. */
    if (pipe2(p, O_CLOEXEC) < 0) fail("cricket-monitor: pipe: %s", strerror(errno));
    err_fd = p[0];
    worker_err = p[1];

    const char *argv_rt[2 * MAX_ARGS + 24];
    int n = 0;
    argv_rt[n++] = opt.runtime;
    for (int i = 0; i < opt.n_runtime_args; i++) argv_rt[n++] = opt.runtime_args[i];
    argv_rt[n++] = opt.restore ? "restore" : "create";
    argv_rt[n++] = "--bundle";
    argv_rt[n++] = opt.bundle;
    argv_rt[n++] = "--pid-file";
    argv_rt[n++] = opt.container_pidfile;
    if (opt.restore) {
        /* restore runs the container at once: --detach returns when it runs. */
        argv_rt[n++] = "--detach";
        argv_rt[n++] = "--image-path";
        argv_rt[n++] = opt.restore;
        argv_rt[n++] = "--work-path";
        argv_rt[n++] = opt.bundle;
    }
    for (int i = 0; i < opt.n_runtime_opts; i++) argv_rt[n++] = opt.runtime_opts[i];
    if (console >= 0) {
        argv_rt[n++] = "--console-socket";
        argv_rt[n++] = console_path;
    }
    argv_rt[n++] = opt.cid;
    argv_rt[n] = NULL;

    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    int sig_fd = signalfd(-1, &chld, SFD_CLOEXEC | SFD_NONBLOCK);
    if (sig_fd < 0) fail("cricket-monitor: signalfd: %s", strerror(errno));

    /*
     * The runtime's pid file is written (by rename) once the container is made, and its process
     * then takes a while to end (a Go program's teardown, some 0.4 ms): the pid file, watched,
     * is what the report waits for.
     */
    const char *slash = strrchr(opt.container_pidfile, '/');
    const char *pid_name = slash ? slash + 1 : opt.container_pidfile;
    char pid_dir[4096] = ".";
    if (slash) snprintf(pid_dir, sizeof pid_dir, "%.*s", slash == opt.container_pidfile ? 1 : (int)(slash - opt.container_pidfile), opt.container_pidfile);
    unlink(opt.container_pidfile);
    int watch_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    int watch = watch_fd >= 0 ? inotify_add_watch(watch_fd, pid_dir, IN_MOVED_TO | IN_CLOSE_WRITE) : -1;
    if (watch_fd >= 0 && watch < 0) {
        close(watch_fd);
        watch_fd = -1;
    }

    pid_t runtime = fork();
    if (runtime < 0) fail("cricket-monitor: fork: %s", strerror(errno));
    if (runtime == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        sigprocmask(SIG_SETMASK, &old, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (dup2(worker_in, 0) < 0 || dup2(worker_out, 1) < 0 || dup2(worker_err, 2) < 0) _exit(127);
        /* A container's user other than root opens /dev/stdout and the like through these. */
        if (worker_in != null_fd) fchmod(0, 0777);
        if (worker_out != null_fd) fchmod(1, 0777);
        fchmod(2, 0777);
        int adj = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
        if (adj >= 0) {
            if (write(adj, "0", 1) < 0) { /* kept */ }
            close(adj);
        }
        execv(opt.runtime, (char *const *)argv_rt);
        dprintf(2, "exec %s: %s\n", opt.runtime, strerror(errno));
        _exit(127);
    }
    if (worker_in != null_fd) close(worker_in);
    if (worker_out != null_fd) close(worker_out);
    close(worker_err);

    /* Made while the runtime runs, off the path of the create; all there before the report. */
    const char *setup_failed = NULL;
    int setup_errno = 0;
    log_fd = open_log(opt.log_path, O_APPEND);
    if (log_fd < 0) setup_failed = "opening the log", setup_errno = errno;
    int attach = setup_failed ? -1 : bind_in(bundle_fd, "attach", SOCK_SEQPACKET, 16);
    if (!setup_failed && attach < 0) setup_failed = "making the attach socket", setup_errno = errno;
    int ctl = -1, ctl_keep = -1;
    if (!setup_failed) {
        unlinkat(bundle_fd, "ctl", 0);
        if (mkfifoat(bundle_fd, "ctl", 0600) == 0) ctl = openat(bundle_fd, "ctl", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        /* Held open so that the FIFO never reads as ended between two writers. */
        if (ctl >= 0) ctl_keep = openat(bundle_fd, "ctl", O_WRONLY | O_CLOEXEC);
        if (ctl < 0 || ctl_keep < 0) setup_failed = "making the ctl FIFO", setup_errno = errno;
    }
    if (setup_failed) {
        kill(runtime, SIGKILL);
        waitpid(runtime, NULL, 0);
        fail("cricket-monitor: %s in %s: %s", setup_failed, opt.bundle, strerror(setup_errno));
    }

    /* Until the container is made (its pid file) or the runtime is done, and the pty it may send. */
    int runtime_status = 0, runtime_done = 0, pid_written = 0;
    while (!runtime_done && !(pid_written && (console < 0 || master >= 0))) {
        struct pollfd fds[3] = {{sig_fd, POLLIN, 0}, {watch_fd, POLLIN, 0}, {console, POLLIN, 0}};
        if (poll(fds, 3, -1) < 0 && errno != EINTR) fail("cricket-monitor: poll: %s", strerror(errno));
        if (console >= 0 && (fds[2].revents & POLLIN) && master < 0) master = accept_pty_master(console);
        if (fds[1].revents & POLLIN) {
            char events[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
            ssize_t r = read(watch_fd, events, sizeof events);
            for (char *e = events; r > 0 && e < events + r;) {
                struct inotify_event *ev = (struct inotify_event *)e;
                if (ev->len > 0 && strcmp(ev->name, pid_name) == 0) pid_written = 1;
                e += sizeof *ev + ev->len;
            }
        }
        struct signalfd_siginfo si;
        while (read(sig_fd, &si, sizeof si) > 0) { /* drained; reap() looks at every child */ }
        reap(runtime, &runtime_status, &runtime_done);
    }
    /*
     * The watch goes now; the descriptor only at the end: closing an inotify descriptor waits
     * for an SRCU grace period (10-20 ms), which must not come before the report.
     */
    if (watch_fd >= 0) inotify_rm_watch(watch_fd, watch);
    if (console >= 0) {
        /* A connection made just before the runtime ended is still queued (the socket is non-blocking). */
        if (master < 0) master = accept_pty_master(console);
        close(console);
        unlinkat(bundle_fd, "console.sock", 0);
    }

    if (runtime_done && (!WIFEXITED(runtime_status) || WEXITSTATUS(runtime_status) != 0)) {
        char msg[CHUNK];
        set_nonblocking(err_fd);
        ssize_t r = read(err_fd, msg, sizeof msg - 1);
        msg[r > 0 ? r : 0] = '\0';
        if (r <= 0) snprintf(msg, sizeof msg, "%s %s exited with status %d", opt.runtime, opt.restore ? "restore" : "create", exit_code(runtime_status));
        fail("%s", msg);
    }
    if (opt.terminal && master < 0) fail("cricket-monitor: the runtime sent no terminal");

    char text[32];
    int pid_file = open(opt.container_pidfile, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    ssize_t len = pid_file >= 0 ? read(pid_file, text, sizeof text - 1) : -1;
    if (pid_file >= 0) close(pid_file);
    text[len > 0 ? len : 0] = '\0';
    char *end;
    long pid = strtol(text, &end, 10);
    if (len <= 0 || pid <= 1 || (*end && *end != '\n')) {
        if (!runtime_done) kill(runtime, SIGKILL);
        fail("cricket-monitor: no container pid in %s", opt.container_pidfile);
    }
    container_pid = (pid_t)pid;
    for (int i = 0; i < n_early; i++) {
        if (early_pids[i] == container_pid) {
            container_status = early_status[i];
            container_exited = 1;
        }
    }
    report(container_pid, NULL);

    /* Nothing more to say to the caller: the standard streams go nowhere from here on. */
    dup2(null_fd, 0);
    dup2(null_fd, 1);
    dup2(null_fd, 2);

    if (master >= 0) {
        out_fd = master;
        if (opt.stdin_wanted) in_fd = dup(master);
    }
    if (out_fd >= 0) set_nonblocking(out_fd);
    set_nonblocking(err_fd);
    if (in_fd >= 0) set_nonblocking(in_fd);

    static char buf[CHUNK];
    static char pending[CHUNK];
    size_t pending_len = 0, pending_off = 0;
    char ctl_line[64];
    size_t ctl_len = 0;

    while (!container_exited) {
        struct pollfd fds[6 + MAX_CLIENTS];
        int nfds = 0;
        fds[nfds++] = (struct pollfd){sig_fd, POLLIN, 0};
        fds[nfds++] = (struct pollfd){out_fd, POLLIN, 0};
        fds[nfds++] = (struct pollfd){err_fd, POLLIN, 0};
        fds[nfds++] = (struct pollfd){n_clients < MAX_CLIENTS ? attach : -1, POLLIN, 0};
        fds[nfds++] = (struct pollfd){ctl, POLLIN, 0};
        fds[nfds++] = (struct pollfd){pending_len > pending_off ? in_fd : -1, POLLOUT, 0};
        int first_client = nfds;
        for (int i = 0; i < n_clients; i++) {
            /* While stdin is full, clients are not read: the container sets the pace. */
            short events = clients[i].reading && pending_len == pending_off ? POLLIN : 0;
            fds[nfds++] = (struct pollfd){clients[i].fd, events, 0};
        }
        if (poll(fds, (nfds_t)nfds, -1) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (fds[0].revents) {
            struct signalfd_siginfo si;
            while (read(sig_fd, &si, sizeof si) > 0) { /* drained */ }
            int unused_status, unused_done = 0;
            reap(-1, &unused_status, &unused_done);
        }
        for (int k = 1; k <= 2; k++) {
            if (!fds[k].revents) continue;
            int *fd = k == 1 ? &out_fd : &err_fd;
            int stream = k == 1 ? STDOUT_PIPE : STDERR_PIPE;
            ssize_t r = read(*fd, buf, sizeof buf);
            if (r > 0) {
                write_log(stream, buf, (size_t)r);
                send_to_clients(stream, buf, (size_t)r);
            } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
                /* Every writer is gone (a pty reads EIO): nothing more will come this way. */
                if (*fd != master) close(*fd);
                *fd = -1;
            }
        }
        if (fds[4].revents & POLLIN) {
            char cbuf[256];
            ssize_t r = read(ctl, cbuf, sizeof cbuf);
            for (ssize_t i = 0; i < r; i++) {
                if (cbuf[i] != '\n') {
                    if (ctl_len < sizeof ctl_line - 1) ctl_line[ctl_len++] = cbuf[i];
                    continue;
                }
                ctl_line[ctl_len] = '\0';
                ctl_len = 0;
                int type, height, width;
                if (sscanf(ctl_line, "%d %d %d", &type, &height, &width) != 3) continue;
                if (type == 1 && master >= 0 && height > 0 && width > 0 && height < 65536 && width < 65536) {
                    struct winsize ws = {.ws_row = (unsigned short)height, .ws_col = (unsigned short)width};
                    ioctl(master, TIOCSWINSZ, &ws);
                } else if (type == 2) {
                    reopen_log();
                }
            }
        }
        if (fds[5].revents) {
            ssize_t w = write(in_fd, pending + pending_off, pending_len - pending_off);
            if (w > 0) pending_off += (size_t)w;
            else if (w < 0 && errno != EAGAIN && errno != EINTR) pending_off = pending_len; /* the reader is gone */
        }
        for (int i = n_clients - 1; i >= 0; i--) {
            short rev = fds[first_client + i].revents;
            if (!rev) continue;
            if (rev & POLLIN) {
                ssize_t r = recv(clients[i].fd, pending, sizeof pending, MSG_DONTWAIT);
                if (r > 0) {
                    if (in_fd >= 0) {
                        ssize_t w = write(in_fd, pending, (size_t)r);
                        pending_off = w > 0 ? (size_t)w : 0;
                        pending_len = (size_t)r;
                        if (w < 0 && errno != EAGAIN && errno != EINTR) pending_off = pending_len;
                    }
                    continue;
                }
                if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
                /* The client's input ended: so does the container's, once, unless it stays open. */
                clients[i].reading = 0;
                if (in_fd >= 0 && !opt.leave_stdin_open && master < 0) {
                    close(in_fd);
                    in_fd = -1;
                }
                if (r < 0) drop_client(i);
                continue;
            }
            if (rev & (POLLHUP | POLLERR)) drop_client(i);
        }
        if (pending_off >= pending_len) pending_off = pending_len = 0;
        /* Accepted after the clients' turn: a new one has no entry in this round's poll. */
        if (fds[3].revents & POLLIN) {
            int conn = accept4(attach, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (conn >= 0) clients[n_clients++] = (struct client){conn, 1};
        }
    }

    /* What the container wrote before it ended is still in the pipes. */
    for (int k = 0; k < 2; k++) {
        int fd = k == 0 ? out_fd : err_fd;
        int stream = k == 0 ? STDOUT_PIPE : STDERR_PIPE;
        if (fd < 0) continue;
        for (int rounds = 0; rounds < 4096; rounds++) {
            ssize_t r = read(fd, buf, sizeof buf);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            write_log(stream, buf, (size_t)r);
            send_to_clients(stream, buf, (size_t)r);
        }
    }
    if (log_fd >= 0) close(log_fd);
    for (int i = n_clients - 1; i >= 0; i--) drop_client(i);
    unlinkat(bundle_fd, "attach", 0);
    unlinkat(bundle_fd, "ctl", 0);
    write_exit_file(exit_code(container_status));
    if (watch_fd >= 0) close(watch_fd);
    return 0;
}
