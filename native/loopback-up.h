/*
 * The loopback interface of the calling thread's network namespace, up: what the CNI loopback
 * plugin does. Shared by cricket-mount (a program) and cricket-syscalls.node (the addon).
 * Returns 0, or -1 with errno set.
 */
#ifndef CRICKET_LOOPBACK_UP_H
#define CRICKET_LOOPBACK_UP_H

#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

static int loopback_up(void) {
    /* A socket belongs to the namespace of the thread that makes it. */
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (sock < 0) return -1;
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
    int rc = ioctl(sock, SIOCGIFFLAGS, &ifr);
    if (rc == 0 && !(ifr.ifr_flags & IFF_UP)) {
        ifr.ifr_flags |= IFF_UP;
        rc = ioctl(sock, SIOCSIFFLAGS, &ifr);
    }
    int saved = errno;
    close(sock);
    errno = saved;
    return rc == 0 ? 0 : -1;
}

#endif
