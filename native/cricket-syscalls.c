/*
 * cricket-syscalls.node: the few system calls cricket needs and Node (20) does not offer.
 *
 * execve(path, argv, env): replaces the process image; `cricket serve` uses it to become
 *   cricket-init (native/cricket-init.c) in place, so the pid its caller knows stays the process
 *   that stops the daemon and reaps what cricket starts. Returns only by throwing.
 * pidfdOpen(pid): a pidfd for the process that has `pid` now (closed with fs.closeSync).
 * pidfdSendSignal(fd, signo): signals exactly that process, even if its pid was reused since.
 * spawn(path, argv, env, cwd, fds, setsid): starts a program with posix_spawn, whose vfork-style
 *   clone does not copy the daemon's page tables: Node's own spawn forks, which costs time in
 *   proportion to the daemon's memory and blocks the event loop meanwhile. It runs on a
 *   thread-pool thread. fds[i] becomes the child's fd i (-1: /dev/null); every other fd cricket
 *   holds is close-on-exec. Signal dispositions and mask are reset to defaults; setsid starts a
 *   new session. Returns a promise of the pid.
 * pipe(): [read end, write end], both close-on-exec.
 * waitNoHang(pid): undefined while the child runs, else [exit code or -1, signal number or 0];
 *   reaps it.
 * mount(source, target, fstype, flags, data) and umount(target, flags): mount(2) and umount2(2)
 *   on a thread-pool thread, in the daemon's own mount namespace, which is the node's. A mount
 *   on the pod start path then costs the system call, not the start of a helper program.
 *   Return promises; flags are the kernel's MS_* / MNT_* bits.
 * pinNewNetns(target): a new network namespace, its loopback up, bind-mounted on the existing
 *   file `target`. Made by a thread of its own that exits afterwards (the thread-pool thread
 *   waits for it), so no thread of the daemon is left in the pod's namespace; the mount holds it.
 *   Returns a promise.
 * sealedCopy(path): a memfd holding the file's bytes, sealed against any change (write, grow,
 *   shrink, further seals) and close-on-exec. runc 1.0/1.1 copies itself into such a memfd at
 *   every container start unless it already runs from one (CVE-2019-5736); started from this
 *   copy, at /proc/<daemon pid>/fd/<fd>, it skips that copy of itself.
 * replaceFile(path, tmp, bytes, mode, fsync, syncDir): writes `bytes` to the new file `tmp`
 *   (O_EXCL, no symlink followed), fsyncs it if asked, renames it over `path`, then fsyncs the
 *   directory if asked; on failure `tmp` is removed. All of it is one thread-pool job: written
 *   through Node's fs, the same steps are four or more trips between the event loop and the
 *   pool, each one waiting its turn there. Returns a promise; the error names the failed step.
 * rewriteFile(path, spare, bytes, mode, fsync): the same whole-file replacement without a new
 *   inode: `bytes` go into `spare` (made when missing; only a regular file of the daemon's with one
 *   link is reused), which then trades places with `path` (renameat2 RENAME_EXCHANGE), so `spare`
 *   keeps the previous content and serves the next write. On a file system with no journal ext4
 *   checks every inode it allocates against those freed in the last half minute: with pods
 *   coming and going a new file there costs 0.1-0.5 ms of CPU, an overwrite some 10 us. Where
 *   `path` does not exist yet (or the file system cannot exchange) `spare` is renamed over it.
 *   Resolves to true when `spare` still exists, holding the old content. After a failed write
 *   `spare` is removed; one that is not the daemon's regular file is left alone.
 * markTopDir(path): sets ext4's top-directory flag (chattr +T) on a directory: its subdirectories
 *   are then spread over the block groups as those of "/" are. False where there is no such flag.
 * mallocTrim(): malloc_trim(0): hands the C heap's free pages back to the kernel (glibc keeps
 *   them otherwise); true when some were. The daemon calls it once its work has gone quiet.
 *
 * Failures throw an Error whose `code` is the errno number (as text) and whose message names it.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <malloc.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <spawn.h>
#include "loopback-up.h"
#include <libgen.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <node_api.h>

#define MAX_STRINGS 4096
#define MAX_STRING 131072
#define MAX_CHILD_FDS 8

/* A JS string as a malloc'd C string, or NULL (with a pending JS error) if it is not one. */
static char *c_string(napi_env env, napi_value value) {
    size_t len = 0;
    if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok) {
        napi_throw_type_error(env, NULL, "expected a string");
        return NULL;
    }
    if (len > MAX_STRING) {
        napi_throw_range_error(env, NULL, "string too long");
        return NULL;
    }
    char *s = malloc(len + 1);
    if (!s) {
        napi_throw_error(env, NULL, "out of memory");
        return NULL;
    }
    napi_get_value_string_utf8(env, value, s, len + 1, &len);
    if (strlen(s) != len) {
        free(s);
        napi_throw_type_error(env, NULL, "string holds a NUL byte");
        return NULL;
    }
    return s;
}

static void free_list(char **list) {
    if (!list) return;
    for (char **p = list; *p; p++) free(*p);
    free(list);
}

/* A JS array of strings as a NULL-terminated C array, or NULL with a pending JS error. */
static char **c_list(napi_env env, napi_value array) {
    bool is_array = false;
    uint32_t n = 0;
    if (napi_is_array(env, array, &is_array) != napi_ok || !is_array || napi_get_array_length(env, array, &n) != napi_ok) {
        napi_throw_type_error(env, NULL, "expected an array of strings");
        return NULL;
    }
    if (n > MAX_STRINGS) {
        napi_throw_range_error(env, NULL, "too many strings");
        return NULL;
    }
    char **list = calloc(n + 1, sizeof(char *));
    if (!list) {
        napi_throw_error(env, NULL, "out of memory");
        return NULL;
    }
    for (uint32_t i = 0; i < n; i++) {
        napi_value item;
        if (napi_get_element(env, array, i, &item) != napi_ok || !(list[i] = c_string(env, item))) {
            bool pending = false;
            napi_is_exception_pending(env, &pending);
            if (!pending) napi_throw_type_error(env, NULL, "expected an array of strings");
            free_list(list);
            return NULL;
        }
    }
    return list;
}

static napi_value js_execve(napi_env env, napi_callback_info cb) {
    size_t argc = 3;
    napi_value args[3];
    if (napi_get_cb_info(env, cb, &argc, args, NULL, NULL) != napi_ok || argc != 3) {
        napi_throw_type_error(env, NULL, "execve(path, argv, env)");
        return NULL;
    }
    char *path = c_string(env, args[0]);
    if (!path) return NULL;
    char **argv = c_list(env, args[1]);
    char **envp = argv ? c_list(env, args[2]) : NULL;
    if (argv && envp) {
        /* Node marks its stdio close-on-exec when they are pipes; the new image must keep them. */
        for (int fd = 0; fd <= 2; fd++) {
            int flags = fcntl(fd, F_GETFD);
            if (flags >= 0 && (flags & FD_CLOEXEC)) fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC);
        }
        execve(path, argv, envp);
        char message[256];
        snprintf(message, sizeof message, "execve %.180s: %s", path, strerror(errno));
        napi_throw_error(env, NULL, message);
    }
    free(path);
    free_list(argv);
    free_list(envp);
    return NULL;
}

static napi_value throw_errno(napi_env env, const char *what, int err) {
    char message[320];
    snprintf(message, sizeof message, "%s: %s", what, strerror(err));
    char code[16];
    snprintf(code, sizeof code, "%d", err);
    napi_throw_error(env, code, message);
    return NULL;
}

static bool int_args(napi_env env, napi_callback_info cb, size_t want, int32_t *out) {
    size_t argc = 2;
    napi_value args[2];
    if (napi_get_cb_info(env, cb, &argc, args, NULL, NULL) != napi_ok || argc != want) return false;
    for (size_t i = 0; i < want; i++) {
        if (napi_get_value_int32(env, args[i], &out[i]) != napi_ok) return false;
    }
    return true;
}

static napi_value js_pidfd_open(napi_env env, napi_callback_info cb) {
    int32_t pid;
    if (!int_args(env, cb, 1, &pid) || pid <= 0) {
        napi_throw_type_error(env, NULL, "pidfdOpen(pid)");
        return NULL;
    }
    long fd = syscall(SYS_pidfd_open, (pid_t)pid, 0);
    if (fd < 0) return throw_errno(env, "pidfd_open", errno);
    /* Not inherited by the programs cricket starts. */
    fcntl((int)fd, F_SETFD, FD_CLOEXEC);
    napi_value result;
    napi_create_int32(env, (int32_t)fd, &result);
    return result;
}

static napi_value js_pidfd_send_signal(napi_env env, napi_callback_info cb) {
    int32_t a[2];
    if (!int_args(env, cb, 2, a) || a[0] < 0 || a[1] <= 0 || a[1] > 64) {
        napi_throw_type_error(env, NULL, "pidfdSendSignal(fd, signo)");
        return NULL;
    }
    if (syscall(SYS_pidfd_send_signal, a[0], a[1], NULL, 0) != 0) return throw_errno(env, "pidfd_send_signal", errno);
    return NULL;
}

/* Rejects `deferred` with an Error saying `message`, whose `code` is the errno number as text. */
static void reject_errno(napi_env env, napi_deferred deferred, const char *message, int err) {
    char code[16];
    snprintf(code, sizeof code, "%d", err);
    napi_value error, msg, code_value;
    napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &msg);
    napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_value);
    napi_create_error(env, code_value, msg, &error);
    napi_reject_deferred(env, deferred, error);
}

static void resolve_undefined(napi_env env, napi_deferred deferred) {
    napi_value undefined;
    napi_get_undefined(env, &undefined);
    napi_resolve_deferred(env, deferred, undefined);
}

/*
 * Runs `execute` on a thread-pool thread, then `complete` on the JS thread. Returns the promise
 * that `complete` settles, or NULL with a pending JS error (the caller then frees the job).
 */
static napi_value queue_job(napi_env env, const char *name, napi_async_execute_callback execute, napi_async_complete_callback complete,
                            void *job, napi_deferred *deferred, napi_async_work *work) {
    napi_value promise, resource_name;
    napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource_name);
    if (napi_create_promise(env, deferred, &promise) != napi_ok ||
        napi_create_async_work(env, NULL, resource_name, execute, complete, job, work) != napi_ok ||
        napi_queue_async_work(env, *work) != napi_ok) {
        napi_throw_error(env, NULL, "could not queue the work");
        return NULL;
    }
    return promise;
}

/* One spawn, carried from the JS thread to a thread-pool thread and back. */
struct spawn_job {
    char *path, *cwd;
    char **argv, **envp;
    int32_t fds[MAX_CHILD_FDS];
    uint32_t nfds;
    bool new_session;
    pid_t pid;
    int err;
    napi_deferred deferred;
    napi_async_work work;
};

static void free_job(struct spawn_job *job) {
    free(job->path);
    free(job->cwd);
    free_list(job->argv);
    free_list(job->envp);
    free(job);
}

/*
 * Runs on a thread-pool thread: posix_spawn suspends the calling thread until the child has
 * exec'd, which under load is a millisecond or more; the event loop goes on meanwhile.
 */
static void spawn_execute(napi_env env, void *data) {
    (void)env;
    struct spawn_job *job = data;
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    for (uint32_t i = 0; i < job->nfds; i++) {
        if (job->fds[i] == -1) posix_spawn_file_actions_addopen(&actions, (int)i, "/dev/null", i == 0 ? O_RDONLY : O_WRONLY, 0);
        else posix_spawn_file_actions_adddup2(&actions, job->fds[i], (int)i);
    }
    if (job->cwd) posix_spawn_file_actions_addchdir_np(&actions, job->cwd);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | (job->new_session ? POSIX_SPAWN_SETSID : 0));
    /* A bare name is looked up in cricket's own PATH, as Node's spawn does. */
    job->err = strchr(job->path, '/') ? posix_spawn(&job->pid, job->path, &actions, &attr, job->argv, job->envp)
                                      : posix_spawnp(&job->pid, job->path, &actions, &attr, job->argv, job->envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
}

static void spawn_complete(napi_env env, napi_status status, void *data) {
    struct spawn_job *job = data;
    int err = status == napi_ok ? job->err : ECANCELED;
    if (err == 0) {
        napi_value pid;
        napi_create_int32(env, (int32_t)job->pid, &pid);
        napi_resolve_deferred(env, job->deferred, pid);
    } else {
        char message[320];
        snprintf(message, sizeof message, "spawn %.120s: %s", job->path, strerror(err));
        reject_errno(env, job->deferred, message, err);
    }
    napi_delete_async_work(env, job->work);
    free_job(job);
}

static napi_value js_spawn(napi_env env, napi_callback_info cb) {
    size_t argc = 6;
    napi_value args[6];
    if (napi_get_cb_info(env, cb, &argc, args, NULL, NULL) != napi_ok || argc != 6) {
        napi_throw_type_error(env, NULL, "spawn(path, argv, env, cwd, fds, setsid)");
        return NULL;
    }
    struct spawn_job *job = calloc(1, sizeof *job);
    if (!job) {
        napi_throw_error(env, NULL, "out of memory");
        return NULL;
    }
    /* fds[i] becomes the child's fd i; -1 there is /dev/null. */
    bool is_array = false;
    if (napi_is_array(env, args[4], &is_array) != napi_ok || !is_array || napi_get_array_length(env, args[4], &job->nfds) != napi_ok ||
        job->nfds > MAX_CHILD_FDS || napi_get_value_bool(env, args[5], &job->new_session) != napi_ok) {
        napi_throw_type_error(env, NULL, "spawn: fds must be an array of up to 8 fds, setsid a boolean");
        free_job(job);
        return NULL;
    }
    for (uint32_t i = 0; i < job->nfds; i++) {
        napi_value item;
        if (napi_get_element(env, args[4], i, &item) != napi_ok || napi_get_value_int32(env, item, &job->fds[i]) != napi_ok || job->fds[i] < -1) {
            napi_throw_type_error(env, NULL, "spawn: fds must be fds or -1");
            free_job(job);
            return NULL;
        }
    }
    napi_valuetype cwd_type;
    napi_typeof(env, args[3], &cwd_type);
    job->path = c_string(env, args[0]);
    job->argv = job->path ? c_list(env, args[1]) : NULL;
    job->envp = job->argv ? c_list(env, args[2]) : NULL;
    job->cwd = job->envp && cwd_type == napi_string ? c_string(env, args[3]) : NULL;
    if (!job->envp || (cwd_type == napi_string && !job->cwd)) {
        free_job(job);
        return NULL;
    }
    napi_value promise = queue_job(env, "cricket-spawn", spawn_execute, spawn_complete, job, &job->deferred, &job->work);
    if (!promise) free_job(job);
    return promise;
}

static napi_value js_pipe(napi_env env, napi_callback_info cb) {
    (void)cb;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return throw_errno(env, "pipe2", errno);
    napi_value result, r, w;
    napi_create_array_with_length(env, 2, &result);
    napi_create_int32(env, fds[0], &r);
    napi_create_int32(env, fds[1], &w);
    napi_set_element(env, result, 0, r);
    napi_set_element(env, result, 1, w);
    return result;
}

static napi_value js_sealed_copy(napi_env env, napi_callback_info cb) {
    size_t argc = 1;
    napi_value arg;
    if (napi_get_cb_info(env, cb, &argc, &arg, NULL, NULL) != napi_ok || argc != 1) {
        napi_throw_type_error(env, NULL, "sealedCopy(path)");
        return NULL;
    }
    char *path = c_string(env, arg);
    if (!path) return NULL;
    int src = open(path, O_RDONLY | O_CLOEXEC);
    free(path);
    if (src < 0) return throw_errno(env, "open", errno);
    struct stat st;
    int err = fstat(src, &st) != 0 ? errno : !S_ISREG(st.st_mode) ? EINVAL : 0;
    if (err) {
        close(src);
        return throw_errno(env, "fstat (a regular file)", err);
    }
    int fd = memfd_create("runtime", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0) {
        err = errno;
        close(src);
        return throw_errno(env, "memfd_create", err);
    }
    off_t offset = 0;
    while (offset < st.st_size) {
        ssize_t n = sendfile(fd, src, &offset, (size_t)(st.st_size - offset));
        if (n <= 0) {
            err = n < 0 ? errno : EIO;
            close(src);
            close(fd);
            return throw_errno(env, "sendfile", err);
        }
    }
    close(src);
    if (fchmod(fd, 0500) != 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) != 0) {
        err = errno;
        close(fd);
        return throw_errno(env, "sealing the copy", err);
    }
    napi_value result;
    napi_create_int32(env, fd, &result);
    return result;
}

static napi_value js_malloc_trim(napi_env env, napi_callback_info cb) {
    (void)cb;
    napi_value result;
    napi_get_boolean(env, malloc_trim(0) == 1, &result);
    return result;
}

/* markTopDir: see the list at the top. Not a directory, or a symlink: the open fails. */
static napi_value js_mark_top_dir(napi_env env, napi_callback_info cb) {
    size_t argc = 1;
    napi_value arg;
    char *path = NULL;
    if (napi_get_cb_info(env, cb, &argc, &arg, NULL, NULL) != napi_ok || argc != 1) {
        napi_throw_type_error(env, NULL, "markTopDir(path)");
        return NULL;
    }
    if (!(path = c_string(env, arg))) return NULL;
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    free(path);
    if (fd < 0) return throw_errno(env, "open", errno);
    int flags = 0, err = 0;
    if (ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0) {
        err = errno;
    } else if (!(flags & FS_TOPDIR_FL)) {
        flags |= FS_TOPDIR_FL;
        if (ioctl(fd, FS_IOC_SETFLAGS, &flags) != 0) err = errno;
    }
    close(fd);
    if (err && err != ENOTTY && err != EOPNOTSUPP && err != EINVAL) return throw_errno(env, "FS_IOC_SETFLAGS", err);
    napi_value result;
    napi_get_boolean(env, err == 0, &result);
    return result;
}

static napi_value js_wait_no_hang(napi_env env, napi_callback_info cb) {
    int32_t pid;
    if (!int_args(env, cb, 1, &pid) || pid <= 0) {
        napi_throw_type_error(env, NULL, "waitNoHang(pid)");
        return NULL;
    }
    int status;
    pid_t got;
    do got = waitpid((pid_t)pid, &status, WNOHANG);
    while (got < 0 && errno == EINTR);
    if (got < 0) return throw_errno(env, "waitpid", errno);
    napi_value result = NULL;
    if (got == 0) {
        napi_get_undefined(env, &result);
        return result;
    }
    napi_value code, signo;
    napi_create_int32(env, WIFEXITED(status) ? WEXITSTATUS(status) : -1, &code);
    napi_create_int32(env, WIFSIGNALED(status) ? WTERMSIG(status) : 0, &signo);
    napi_create_array_with_length(env, 2, &result);
    napi_set_element(env, result, 0, code);
    napi_set_element(env, result, 1, signo);
    return result;
}

/* One mount(2), umount2(2) or pinned new netns, carried to a thread-pool thread and back. */
struct mount_job {
    bool unmount;
    bool netns;
    char *source, *target, *fstype, *data;
    unsigned long flags;
    int err;
    /* For a netns: the step that failed. */
    const char *step;
    napi_deferred deferred;
    napi_async_work work;
};

/* Runs on a thread made for it: unshare moves only the calling thread into the new namespace. */
static void *pin_new_netns(void *arg) {
    struct mount_job *job = arg;
    if (unshare(CLONE_NEWNET) != 0) {
        job->err = errno;
        job->step = "unshare(CLONE_NEWNET)";
        return NULL;
    }
    if (loopback_up() != 0) {
        job->err = errno;
        job->step = "bringing the loopback up";
        return NULL;
    }
    /* thread-self: /proc/self names the thread group leader, still in the daemon's namespace. */
    if (mount("/proc/thread-self/ns/net", job->target, NULL, MS_BIND, NULL) != 0) {
        job->err = errno;
        job->step = "bind mount";
    }
    return NULL;
}

static void free_mount_job(struct mount_job *job) {
    free(job->source);
    free(job->target);
    free(job->fstype);
    free(job->data);
    free(job);
}

static void mount_execute(napi_env env, void *data) {
    (void)env;
    struct mount_job *job = data;
    if (job->netns) {
        pthread_t thread;
        int err = pthread_create(&thread, NULL, pin_new_netns, job);
        if (err != 0) {
            job->err = err;
            job->step = "pthread_create";
            return;
        }
        pthread_join(thread, NULL);
        return;
    }
    int rc = job->unmount ? umount2(job->target, (int)job->flags) : mount(job->source, job->target, job->fstype, job->flags, job->data);
    job->err = rc == 0 ? 0 : errno;
}

static void mount_complete(napi_env env, napi_status status, void *data) {
    struct mount_job *job = data;
    int err = status == napi_ok ? job->err : ECANCELED;
    if (err == 0) {
        resolve_undefined(env, job->deferred);
    } else {
        char message[400];
        if (job->netns) snprintf(message, sizeof message, "new network namespace on %.300s: %s: %s", job->target, job->step ? job->step : "queued", strerror(err));
        else if (job->unmount) snprintf(message, sizeof message, "umount %.300s: %s", job->target, strerror(err));
        else snprintf(message, sizeof message, "mount %.40s on %.300s: %s", job->fstype ? job->fstype : "bind", job->target, strerror(err));
        reject_errno(env, job->deferred, message, err);
    }
    napi_delete_async_work(env, job->work);
    free_mount_job(job);
}

/* A string argument, or NULL for null/undefined; false with a pending JS error otherwise. */
static bool optional_string(napi_env env, napi_value value, char **out) {
    napi_valuetype type;
    napi_typeof(env, value, &type);
    *out = NULL;
    if (type == napi_null || type == napi_undefined) return true;
    return (*out = c_string(env, value)) != NULL;
}

/* An empty job, or NULL with a pending JS error. */
static struct mount_job *new_mount_job(napi_env env, bool unmount, uint32_t flags) {
    struct mount_job *job = calloc(1, sizeof *job);
    if (!job) {
        napi_throw_error(env, NULL, "out of memory");
        return NULL;
    }
    job->unmount = unmount;
    job->flags = flags;
    return job;
}

static napi_value queue_mount_job(napi_env env, struct mount_job *job) {
    napi_value promise = queue_job(env, "cricket-mount", mount_execute, mount_complete, job, &job->deferred, &job->work);
    if (!promise) free_mount_job(job);
    return promise;
}

static napi_value js_mount(napi_env env, napi_callback_info cb) {
    size_t argc = 5;
    napi_value args[5];
    uint32_t flags = 0;
    if (napi_get_cb_info(env, cb, &argc, args, NULL, NULL) != napi_ok || argc != 5 || napi_get_value_uint32(env, args[3], &flags) != napi_ok) {
        napi_throw_type_error(env, NULL, "mount(source, target, fstype, flags, data)");
        return NULL;
    }
    struct mount_job *job = new_mount_job(env, false, flags);
    if (!job) return NULL;
    if (!optional_string(env, args[0], &job->source) || !(job->target = c_string(env, args[1])) ||
        !optional_string(env, args[2], &job->fstype) || !optional_string(env, args[4], &job->data)) {
        free_mount_job(job);
        return NULL;
    }
    return queue_mount_job(env, job);
}

static napi_value js_pin_new_netns(napi_env env, napi_callback_info cb) {
    size_t argc = 1;
    napi_value args[1];
    if (napi_get_cb_info(env, cb, &argc, args, NULL, NULL) != napi_ok || argc != 1) {
        napi_throw_type_error(env, NULL, "pinNewNetns(target)");
        return NULL;
    }
    struct mount_job *job = new_mount_job(env, false, 0);
    if (!job) return NULL;
    job->netns = true;
    if (!(job->target = c_string(env, args[0]))) {
        free_mount_job(job);
        return NULL;
    }
    return queue_mount_job(env, job);
}

static napi_value js_umount(napi_env env, napi_callback_info cb) {
    size_t argc = 2;
    napi_value args[2];
    uint32_t flags = 0;
    if (napi_get_cb_info(env, cb, &argc, args, NULL, NULL) != napi_ok || argc != 2 || napi_get_value_uint32(env, args[1], &flags) != napi_ok) {
        napi_throw_type_error(env, NULL, "umount(target, flags)");
        return NULL;
    }
    struct mount_job *job = new_mount_job(env, true, flags);
    if (!job) return NULL;
    if (!(job->target = c_string(env, args[0]))) {
        free_mount_job(job);
        return NULL;
    }
    return queue_mount_job(env, job);
}

/* One whole-file replacement, carried to a thread-pool thread and back. */
struct replace_job {
    char *path, *tmp;
    unsigned char *bytes;
    size_t length;
    mode_t mode;
    bool fsync, sync_dir;
    /* rewriteFile: `tmp` is a spare to overwrite and exchange, not a new file. */
    bool reuse, spare_kept;
    int err;
    const char *step;
    napi_deferred deferred;
    napi_async_work work;
};

static void free_replace_job(struct replace_job *job) {
    free(job->path);
    free(job->tmp);
    free(job->bytes);
    free(job);
}

static int fsync_parent_dir(const char *path) {
    char *copy = strdup(path);
    if (!copy) return ENOMEM;
    int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(copy);
    if (fd < 0) return errno;
    int err = fsync(fd) == 0 ? 0 : errno;
    close(fd);
    return err;
}

/*
 * Opens the spare of a rewrite: made when missing, else reused only when it is the daemon's own
 * regular file with one link (O_NONBLOCK: a FIFO put in its place fails instead of blocking).
 */
static int open_spare(struct replace_job *job) {
    int fd = open(job->tmp, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, job->mode);
    if (fd < 0) return -1;
    struct stat st;
    int err = 0;
    if (fstat(fd, &st) != 0)
        err = errno;
    else if (!S_ISREG(st.st_mode) || st.st_nlink != 1 || st.st_uid != geteuid())
        err = EINVAL;
    else if ((st.st_mode & 07777) != job->mode && fchmod(fd, job->mode) != 0)
        err = errno;
    if (err) {
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

/* Puts the written file in place: an exchange for a rewrite whose target exists, else a rename. */
static int put_in_place(struct replace_job *job) {
    if (job->reuse) {
        if (renameat2(AT_FDCWD, job->tmp, AT_FDCWD, job->path, RENAME_EXCHANGE) == 0) {
            job->spare_kept = true;
            return 0;
        }
        if (errno != ENOENT && errno != EINVAL && errno != ENOSYS) return errno;
    }
    return rename(job->tmp, job->path) == 0 ? 0 : errno;
}

static void replace_execute(napi_env env, void *data) {
    (void)env;
    struct replace_job *job = data;
    job->step = job->reuse ? "open of the spare" : "create";
    int fd = job->reuse ? open_spare(job) : open(job->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, job->mode);
    if (fd < 0) {
        /* A spare that is not the daemon's regular file is left where it is; the caller drops it. */
        job->err = errno;
        return;
    }
    job->step = "write";
    for (size_t done = 0; done < job->length;) {
        ssize_t n = job->reuse ? pwrite(fd, job->bytes + done, job->length - done, (off_t)done) : write(fd, job->bytes + done, job->length - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            job->err = errno;
            break;
        }
        done += (size_t)n;
    }
    if (!job->err && job->reuse && ftruncate(fd, (off_t)job->length) != 0) {
        job->step = "truncate";
        job->err = errno;
    }
    if (!job->err && job->fsync) {
        job->step = "fsync";
        if (fsync(fd) != 0) job->err = errno;
    }
    /* close(2) can report a failed write-back (NFS, a full thin pool): it counts. */
    if (close(fd) != 0 && !job->err) {
        job->step = "close";
        job->err = errno;
    }
    if (!job->err) {
        job->step = job->reuse ? "exchange" : "rename";
        job->err = put_in_place(job);
    }
    if (job->err) {
        unlink(job->tmp);
        return;
    }
    if (job->sync_dir) {
        job->step = "fsync of the directory";
        job->err = fsync_parent_dir(job->path);
    }
}

static void replace_complete(napi_env env, napi_status status, void *data) {
    struct replace_job *job = data;
    int err = status == napi_ok ? job->err : ECANCELED;
    if (err == 0 && job->reuse) {
        napi_value kept;
        napi_get_boolean(env, job->spare_kept, &kept);
        napi_resolve_deferred(env, job->deferred, kept);
    } else if (err == 0) {
        resolve_undefined(env, job->deferred);
    } else {
        char message[400];
        snprintf(message, sizeof message, "%s %.300s: %s", job->step ? job->step : "queued", job->path, strerror(err));
        reject_errno(env, job->deferred, message, err);
    }
    napi_delete_async_work(env, job->work);
    free_replace_job(job);
}

/*
 * The job of replaceFile (reuse false: path, tmp, bytes, mode, fsync, syncDir) or rewriteFile
 * (reuse true: path, spare, bytes, mode, fsync), queued; NULL after throwing a TypeError.
 */
static napi_value queue_replace_job(napi_env env, napi_callback_info cb, bool reuse) {
    const char *usage = reuse ? "rewriteFile(path, spare, bytes: Uint8Array, mode, fsync)" : "replaceFile(path, tmp, bytes: Uint8Array, mode, fsync, syncDir)";
    size_t want = reuse ? 5 : 6, argc = 6;
    napi_value args[6];
    uint32_t mode = 0;
    bool is_typedarray = false;
    struct replace_job *job = NULL;
    if (napi_get_cb_info(env, cb, &argc, args, NULL, NULL) != napi_ok || argc != want || napi_is_typedarray(env, args[2], &is_typedarray) != napi_ok ||
        !is_typedarray || napi_get_value_uint32(env, args[3], &mode) != napi_ok || mode > 07777 || !(job = calloc(1, sizeof *job)) ||
        napi_get_value_bool(env, args[4], &job->fsync) != napi_ok || (!reuse && napi_get_value_bool(env, args[5], &job->sync_dir) != napi_ok)) {
        free(job);
        napi_throw_type_error(env, NULL, usage);
        return NULL;
    }
    job->mode = (mode_t)mode;
    job->reuse = reuse;
    napi_typedarray_type type;
    void *bytes = NULL;
    napi_value buffer;
    size_t offset;
    if (napi_get_typedarray_info(env, args[2], &type, &job->length, &bytes, &buffer, &offset) != napi_ok || type != napi_uint8_array) {
        free(job);
        napi_throw_type_error(env, NULL, usage);
        return NULL;
    }
    /* A copy: the JS buffer may be changed or collected while the job runs. */
    job->bytes = malloc(job->length ? job->length : 1);
    if (!job->bytes) {
        free(job);
        napi_throw_error(env, NULL, "out of memory");
        return NULL;
    }
    if (job->length) memcpy(job->bytes, bytes, job->length);
    if (!(job->path = c_string(env, args[0])) || !(job->tmp = c_string(env, args[1]))) {
        free_replace_job(job);
        return NULL;
    }
    napi_value promise = queue_job(env, reuse ? "cricket-rewrite-file" : "cricket-replace-file", replace_execute, replace_complete, job, &job->deferred, &job->work);
    if (!promise) free_replace_job(job);
    return promise;
}

static napi_value js_replace_file(napi_env env, napi_callback_info cb) {
    return queue_replace_job(env, cb, false);
}

static napi_value js_rewrite_file(napi_env env, napi_callback_info cb) {
    return queue_replace_job(env, cb, true);
}

static bool export_fn(napi_env env, napi_value exports, const char *name, napi_callback fn) {
    napi_value value;
    return napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &value) == napi_ok &&
           napi_set_named_property(env, exports, name, value) == napi_ok;
}

NAPI_MODULE_INIT() {
    if (!export_fn(env, exports, "execve", js_execve) || !export_fn(env, exports, "pidfdOpen", js_pidfd_open) ||
        !export_fn(env, exports, "pidfdSendSignal", js_pidfd_send_signal) || !export_fn(env, exports, "spawn", js_spawn) ||
        !export_fn(env, exports, "pipe", js_pipe) || !export_fn(env, exports, "waitNoHang", js_wait_no_hang) ||
        !export_fn(env, exports, "mount", js_mount) || !export_fn(env, exports, "pinNewNetns", js_pin_new_netns) || !export_fn(env, exports, "umount", js_umount) ||
        !export_fn(env, exports, "mallocTrim", js_malloc_trim) || !export_fn(env, exports, "sealedCopy", js_sealed_copy) ||
        !export_fn(env, exports, "replaceFile", js_replace_file) || !export_fn(env, exports, "rewriteFile", js_rewrite_file) ||
        !export_fn(env, exports, "markTopDir", js_mark_top_dir))
        return NULL;
    return exports;
}
