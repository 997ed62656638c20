/*
 * cricket-exec.node: execve(2) for Node, which has none before version 22.15. `cricket serve`
 * uses it to become cricket-init (native/cricket-init.c) in place, so that the pid its caller
 * knows stays the process that stops the daemon and reaps what cricket starts.
 *
 * execve(path, argv, env): path a string, argv and env arrays of strings ("NAME=value").
 * Returns only on failure, by throwing an Error that names the errno.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

NAPI_MODULE_INIT() {
    napi_value fn;
    if (napi_create_function(env, "execve", NAPI_AUTO_LENGTH, js_execve, NULL, &fn) != napi_ok) return NULL;
    if (napi_set_named_property(env, exports, "execve", fn) != napi_ok) return NULL;
    return exports;
}
