/*
 * cricket-syscalls.node: the few system calls cricket needs and Node (20) does not offer.
 *
 * execve(path, argv, env): replaces the process image; `cricket serve` uses it to become
 *   cricket-init (native/cricket-init.c) in place, so the pid its caller knows stays the process
 *   that stops the daemon and reaps what cricket starts. Returns only by throwing.
 * pidfdOpen(pid): a pidfd for the process that has `pid` now (closed with fs.closeSync).
 * pidfdSendSignal(fd, signo): signals exactly that process, even if its pid was reused since.
 *
 * Failures throw an Error whose `code` is the errno number (as text) and whose message names it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <node_api.h>

#define MAX_STRINGS 4096
#define MAX_STRING 131072

/* A JS string as a malloc'd C string, or NULL (with a pending JS error) if it is not one. */
static char *c_string(napi_env env, napi_value value) {
    size_t len = 0;
    if (napi_get_value_string_utf8(env, value, NULL, 0, &len) != napi_ok) {
        napi_throw_type_error(env, NULL, "execve: expected a string");
        return NULL;
    }
    if (len > MAX_STRING) {
        napi_throw_range_error(env, NULL, "execve: string too long");
        return NULL;
    }
    char *s = malloc(len + 1);
    if (!s) {
        napi_throw_error(env, NULL, "execve: out of memory");
        return NULL;
    }
    napi_get_value_string_utf8(env, value, s, len + 1, &len);
    if (strlen(s) != len) {
        free(s);
        napi_throw_type_error(env, NULL, "execve: string holds a NUL byte");
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
        napi_throw_type_error(env, NULL, "execve: expected an array of strings");
        return NULL;
    }
    if (n > MAX_STRINGS) {
        napi_throw_range_error(env, NULL, "execve: too many strings");
        return NULL;
    }
    char **list = calloc(n + 1, sizeof(char *));
    if (!list) {
        napi_throw_error(env, NULL, "execve: out of memory");
        return NULL;
    }
    for (uint32_t i = 0; i < n; i++) {
        napi_value item;
        if (napi_get_element(env, array, i, &item) != napi_ok || !(list[i] = c_string(env, item))) {
            bool pending = false;
            napi_is_exception_pending(env, &pending);
            if (!pending) napi_throw_type_error(env, NULL, "execve: expected an array of strings");
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
    char message[128];
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

static bool export_fn(napi_env env, napi_value exports, const char *name, napi_callback fn) {
    napi_value value;
    return napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &value) == napi_ok &&
           napi_set_named_property(env, exports, name, value) == napi_ok;
}

NAPI_MODULE_INIT() {
    if (!export_fn(env, exports, "execve", js_execve) || !export_fn(env, exports, "pidfdOpen", js_pidfd_open) ||
        !export_fn(env, exports, "pidfdSendSignal", js_pidfd_send_signal))
        return NULL;
    return exports;
}
