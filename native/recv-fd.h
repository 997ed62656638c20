/*
 * Receives the one descriptor a peer sends with SCM_RIGHTS on a connected unix socket: how runc
 * hands over a container's pty master through its console socket. Shared by cricket-io (exec)
 * and cricket-monitor (containers). Returns it (close-on-exec), or -1 with errno set.
 */
#ifndef CRICKET_RECV_FD_H
#define CRICKET_RECV_FD_H

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

static inline int recv_fd(int conn) {
    char payload[4096];
    struct iovec iov = {payload, sizeof payload};
    union {
        char buf[CMSG_SPACE(sizeof(int))];
        struct cmsghdr align;
    } u;
    struct msghdr msg = {0};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = u.buf;
    msg.msg_controllen = sizeof u.buf;
    ssize_t r;
    do r = recvmsg(conn, &msg, MSG_CMSG_CLOEXEC);
    while (r < 0 && errno == EINTR);
    if (r < 0) return -1;
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int))) {
        errno = EBADMSG;
        return -1;
    }
    int fd;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

#endif
