/*
 * cricket-mount: the mount(2) jobs of pod and container set-up, as one small static program
 * that starts in a fraction of the time util-linux's mount, umount and unshare need.
 *
 *   cricket-mount netns PATH
 *       Creates a new network namespace, brings its loopback interface up, and pins it with a
 *       bind mount on the existing file PATH; the namespace outlives this process through that
 *       mount.
 *   cricket-mount overlay TARGET OPTIONS
 *       Mounts an overlay filesystem with the given options on TARGET. Relative lowerdir
 *       paths are resolved against the working directory (long layer lists fit one page).
 *   cricket-mount tmpfs SOURCE TARGET OPTIONS
 *       Mounts a tmpfs named SOURCE on TARGET (nosuid, nodev, noexec) with the given options.
 *   cricket-mount bind SOURCE TARGET [ro]
 *       Bind-mounts SOURCE on TARGET, read-only when "ro" is given.
 *   cricket-mount umount PATH [lazy]
 *       Unmounts PATH; with "lazy", detaches it even while busy.
 *   cricket-mount without-unified PROGRAM ARGS...
 *       Runs PROGRAM in a mount namespace of its own (its mounts keep their propagation, so
 *       shared mounts still reach the host and back) from which the cgroup2 hierarchy of a
 *       hybrid cgroup host is detached.
 *       crun refuses that layout when cgroup2 has controllers; without it crun sees a plain
 *       cgroup v1 host, as runc treats it.
 *   cricket-mount idmap SOURCE TARGET USERNS
 *       Bind-mounts SOURCE on TARGET as an idmapped mount: files owned by host ids appear
 *       shifted by the id mappings of the user namespace file USERNS (/proc/PID/ns/user).
 *
 * Errors are printed on stderr with the failing call and errno text; the exit status is 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <stdint.h>
#include <sys/mount.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "loopback-up.h"

/* The new mount API; its numbers are the same on every architecture but alpha. */
#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#ifndef SYS_mount_setattr
#define SYS_mount_setattr 442
#endif
#define IDMAP_OPEN_TREE_CLONE 1
#define IDMAP_OPEN_TREE_CLOEXEC 02000000
#define IDMAP_AT_EMPTY_PATH 0x1000
#define IDMAP_MOVE_MOUNT_F_EMPTY_PATH 0x00000004
#define IDMAP_MOUNT_ATTR_IDMAP 0x00100000

struct idmap_mount_attr {
    uint64_t attr_set;
    uint64_t attr_clr;
    uint64_t propagation;
    uint64_t userns_fd;
};

static int fail(const char *what, const char *path) {
    fprintf(stderr, "%s %s: %s\n", what, path, strerror(errno));
    return 1;
}

static int cmd_netns(const char *path) {
    if (unshare(CLONE_NEWNET) != 0) return fail("unshare(CLONE_NEWNET) for", path);
    if (loopback_up() != 0) return fail("bring loopback up in", path);
    if (mount("/proc/self/ns/net", path, NULL, MS_BIND, NULL) != 0) return fail("bind mount netns on", path);
    return 0;
}

static int cmd_overlay(const char *target, const char *options) {
    if (mount("overlay", target, "overlay", 0, options) != 0) return fail("mount overlay on", target);
    return 0;
}

static int cmd_tmpfs(const char *source, const char *target, const char *options) {
    if (mount(source, target, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, options) != 0) return fail("mount tmpfs on", target);
    return 0;
}

static int cmd_bind(const char *source, const char *target, int readonly) {
    if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) != 0) return fail("bind mount on", target);
    /* Read-only needs a second, remounting call: the first ignores MS_RDONLY for binds. */
    if (readonly && mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) != 0) {
        int saved = errno;
        umount2(target, MNT_DETACH);
        errno = saved;
        return fail("remount read-only", target);
    }
    return 0;
}

static int cmd_idmap(const char *source, const char *target, const char *userns) {
    int ns = open(userns, O_RDONLY | O_CLOEXEC);
    if (ns < 0) return fail("open user namespace", userns);
    int tree = (int)syscall(SYS_open_tree, AT_FDCWD, source, IDMAP_OPEN_TREE_CLONE | IDMAP_OPEN_TREE_CLOEXEC);
    if (tree < 0) return fail("open_tree", source);
    struct idmap_mount_attr attr = { .attr_set = IDMAP_MOUNT_ATTR_IDMAP, .userns_fd = (uint64_t)ns };
    if (syscall(SYS_mount_setattr, tree, "", IDMAP_AT_EMPTY_PATH, &attr, sizeof attr) != 0) return fail("mount_setattr idmap", source);
    if (syscall(SYS_move_mount, tree, "", AT_FDCWD, target, IDMAP_MOVE_MOUNT_F_EMPTY_PATH) != 0) return fail("move_mount to", target);
    close(tree);
    close(ns);
    return 0;
}

static int cmd_umount(const char *path, int lazy) {
    if (umount2(path, lazy ? MNT_DETACH : 0) != 0) return fail("umount", path);
    return 0;
}

static int cmd_without_unified(char **argv) {
    if (unshare(CLONE_NEWNS) != 0) return fail("unshare(CLONE_NEWNS) for", argv[0]);
    /* Only the cgroup2 mount leaves this namespace's tree: made private first, so that its removal
     * stays here. Every other mount keeps its propagation, so that shared (rshared) mounts of
     * containers still reach the host and the host's reach them. */
    if (mount(NULL, "/sys/fs/cgroup/unified", NULL, MS_PRIVATE, NULL) != 0 && errno != EINVAL && errno != ENOENT)
        return fail("make private", "/sys/fs/cgroup/unified");
    if (umount2("/sys/fs/cgroup/unified", MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) return fail("umount", "/sys/fs/cgroup/unified");
    execv(argv[0], argv);
    return fail("exec", argv[0]);
}

int main(int argc, char **argv) {
    if (argc >= 3 && strcmp(argv[1], "without-unified") == 0) return cmd_without_unified(argv + 2);
    if (argc == 3 && strcmp(argv[1], "netns") == 0) return cmd_netns(argv[2]);
    if (argc == 4 && strcmp(argv[1], "overlay") == 0) return cmd_overlay(argv[2], argv[3]);
    if (argc == 5 && strcmp(argv[1], "tmpfs") == 0) return cmd_tmpfs(argv[2], argv[3], argv[4]);
    if ((argc == 4 || argc == 5) && strcmp(argv[1], "bind") == 0) return cmd_bind(argv[2], argv[3], argc == 5 && strcmp(argv[4], "ro") == 0);
    if ((argc == 3 || argc == 4) && strcmp(argv[1], "umount") == 0) return cmd_umount(argv[2], argc == 4 && strcmp(argv[3], "lazy") == 0);
    if (argc == 5 && strcmp(argv[1], "idmap") == 0) return cmd_idmap(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: cricket-mount netns PATH | overlay TARGET OPTIONS | tmpfs SOURCE TARGET OPTIONS | bind SOURCE TARGET [ro] | umount PATH [lazy] | without-unified PROGRAM ARGS... | idmap SOURCE TARGET USERNS\n");
    return 2;
}
