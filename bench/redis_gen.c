/* redis-gen: a redis load generator that goes on through error replies.
 *
 * redis-benchmark exits at the first error reply, so it cannot measure a
 * proxy that injects errors. This one counts every reply as an operation
 * (an error reply too, counted apart), like redis-benchmark otherwise:
 * one thread, epoll, C connections each writing P commands and waiting
 * for their P replies before writing the next P.
 *
 *   redis-gen [-h 127.0.0.1] [-p 6379] [-c 50] [-P 1] [-t get|set|mix]
 *             [-n 0] [-d 10] [-k 1000] [-s 10]
 *
 *   -n  stop issuing once N commands are issued (0: no count; whole
 *       batches, so up to C*P more), -d  stop after that many seconds,
 *   -k  keys key:0 .. key:K-1 (3-byte values), -s  fail when no reply
 *       comes for that many seconds while some are awaited.
 *
 * Prints one JSON object: ops (replies, errors included), errors, nils,
 * seconds, ops_per_s, stopped ("count" or "time"). Exits non-zero, with
 * a message on stderr, when a connection fails or is closed by the
 * server, when a reply is one it cannot read, when replies stall, and
 * when no reply came at all: it never reports 0 quietly.
 *
 * Built by bench/redis_gen.py with the system cc on first use.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RBUF 65536

typedef struct {
    int fd, idx;
    char *batch;          /* the P commands, built once */
    size_t batch_len, wpos;
    int awaited;          /* replies still awaited for the batch in flight */
    long skip;            /* bulk bytes (and CRLF) still to skip */
    char rbuf[RBUF];
    size_t rlen;
    unsigned long replies;
} conn_t;

static unsigned long ops, errors, nils, issued;
static int epfd;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("redis-gen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (%lu replies so far, %lu of them errors)\n", ops, errors);
    va_end(ap);
    exit(code);
}

static void append(char **buf, size_t *len, const char *fmt, ...) {
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    *buf = realloc(*buf, *len + n + 1);
    memcpy(*buf + *len, tmp, n + 1);
    *len += n;
}

static void build(conn_t *c, int pipeline, char test, int keyspace) {
    for (int i = 0; i < pipeline; i++) {
        char key[32];
        int klen = snprintf(key, sizeof key, "key:%d", (c->idx * pipeline + i) % keyspace);
        int get = test == 'g' || (test == 'm' && i % 2);
        if (get)
            append(&c->batch, &c->batch_len, "*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", klen, key);
        else
            append(&c->batch, &c->batch_len, "*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$3\r\nxyz\r\n",
                   klen, key);
    }
}

static void watch(conn_t *c, int op, unsigned events) {
    struct epoll_event ev = {.events = events, .data.ptr = c};
    if (epoll_ctl(epfd, op, c->fd, &ev) < 0)
        die(2, "epoll_ctl: %s", strerror(errno));
}

/* Write what is left of the batch; watch for writability if it did not all go. */
static void flush(conn_t *c) {
    while (c->wpos < c->batch_len) {
        ssize_t n = write(c->fd, c->batch + c->wpos, c->batch_len - c->wpos);
        if (n < 0) {
            if (errno == EAGAIN) {
                watch(c, EPOLL_CTL_MOD, EPOLLIN | EPOLLOUT);
                return;
            }
            die(3, "connection %d: write: %s", c->idx, strerror(errno));
        }
        c->wpos += n;
    }
}

static void send_batch(conn_t *c, int pipeline) {
    c->wpos = 0;
    c->awaited = pipeline;
    issued += pipeline;
    flush(c);
}

/* Count the whole replies in the read buffer; keep a partial one. */
static void parse(conn_t *c) {
    char *p = c->rbuf, *end = c->rbuf + c->rlen;
    while (p < end) {
        if (c->skip) {
            long take = end - p < c->skip ? end - p : c->skip;
            p += take;
            c->skip -= take;
            continue;
        }
        char *nl = memchr(p, '\n', end - p);
        if (!nl)
            break;
        switch (*p) {
        case '-': errors++; break;
        case '+': case ':': break;
        case '$': {
            long len = strtol(p + 1, NULL, 10);
            if (len < 0)
                nils++;
            else
                c->skip = len + 2;
            break;
        }
        default:
            die(4, "connection %d: unexpected reply %.*s", c->idx,
                (int)(nl - p > 60 ? 60 : nl - p), p);
        }
        ops++;
        c->replies++;
        if (--c->awaited < 0)
            die(4, "connection %d: more replies than commands", c->idx);
        p = nl + 1;
    }
    c->rlen = end - p;
    if (c->rlen == RBUF)
        die(4, "connection %d: a reply line longer than %d bytes", c->idx, RBUF);
    memmove(c->rbuf, p, c->rlen);
}

int main(int argc, char **argv) {
    const char *host = "127.0.0.1";
    int port = 6379, clients = 50, pipeline = 1, keyspace = 1000, opt;
    double duration = 10, stall = 10;
    unsigned long count = 0;
    char test = 'g';
    const char *test_name = "GET";
    while ((opt = getopt(argc, argv, "h:p:c:P:t:n:d:k:s:")) != -1) {
        switch (opt) {
        case 'h': host = optarg; break;
        case 'p': port = atoi(optarg); break;
        case 'c': clients = atoi(optarg); break;
        case 'P': pipeline = atoi(optarg); break;
        case 'n': count = strtoul(optarg, NULL, 10); break;
        case 'd': duration = atof(optarg); break;
        case 'k': keyspace = atoi(optarg); break;
        case 's': stall = atof(optarg); break;
        case 't':
            if (!strcmp(optarg, "get")) test = 'g', test_name = "GET";
            else if (!strcmp(optarg, "set")) test = 's', test_name = "SET";
            else if (!strcmp(optarg, "mix")) test = 'm', test_name = "SET/GET";
            else die(1, "-t is get, set or mix");
            break;
        default:
            die(1, "usage: redis-gen [-h host] [-p port] [-c clients] [-P pipeline] "
                   "[-t get|set|mix] [-n count] [-d seconds] [-k keys] [-s stall-seconds]");
        }
    }
    if (clients < 1 || pipeline < 1 || keyspace < 1 || duration <= 0)
        die(1, "-c, -P, -k and -d must be positive");

    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1)
        die(1, "-h takes an IPv4 address, not %s", host);
    epfd = epoll_create1(0);
    conn_t *conns = calloc(clients, sizeof *conns);
    for (int i = 0; i < clients; i++) {
        conn_t *c = &conns[i];
        c->idx = i;
        c->fd = socket(AF_INET, SOCK_STREAM, 0);
        if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&addr, sizeof addr) < 0)
            die(3, "connection %d to %s:%d: %s", i, host, port, strerror(errno));
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(c->fd, F_SETFL, O_NONBLOCK);
        build(c, pipeline, test, keyspace);
        watch(c, EPOLL_CTL_ADD, EPOLLIN);
    }

    double start = now(), deadline = start + duration, last_reply = start, t = start;
    int stopping = 0, in_flight = 0;
    const char *stopped = "count";
    for (int i = 0; i < clients; i++, in_flight++)
        send_batch(&conns[i], pipeline);
    struct epoll_event events[256];
    while (in_flight) {
        int n = epoll_wait(epfd, events, 256, 100);
        if (n < 0 && errno != EINTR)
            die(2, "epoll_wait: %s", strerror(errno));
        t = now();
        if (t >= deadline) {
            stopped = "time";
            break;
        }
        for (int e = 0; e < n; e++) {
            conn_t *c = events[e].data.ptr;
            if (events[e].events & EPOLLOUT) {
                flush(c);
                if (c->wpos == c->batch_len)
                    watch(c, EPOLL_CTL_MOD, EPOLLIN);
            }
            if (!(events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
                continue;
            ssize_t got = read(c->fd, c->rbuf + c->rlen, RBUF - c->rlen);
            if (got == 0)
                die(3, "connection %d closed by the server after %lu replies", c->idx,
                    c->replies);
            if (got < 0) {
                if (errno == EAGAIN)
                    continue;
                die(3, "connection %d: read: %s", c->idx, strerror(errno));
            }
            c->rlen += got;
            unsigned long before = ops;
            parse(c);
            if (ops != before)
                last_reply = t;
            if (c->awaited == 0 && !c->skip && c->rlen == 0) {
                if (!stopping && count && issued >= count)
                    stopping = 1;
                if (stopping)
                    in_flight--;
                else
                    send_batch(c, pipeline);
            }
        }
        if (t - last_reply > stall)
            die(5, "no reply for %.0f s", stall);
    }
    double seconds = (in_flight ? t : last_reply) - start;
    if (ops == 0)
        die(5, "no reply at all in %.1f s", seconds);
    printf("{\"test\": \"%s\", \"clients\": %d, \"pipeline\": %d, \"ops\": %lu, "
           "\"errors\": %lu, \"nils\": %lu, \"seconds\": %.6f, \"ops_per_s\": %.1f, "
           "\"stopped\": \"%s\"}\n",
           test_name, clients, pipeline, ops, errors, nils, seconds, ops / seconds, stopped);
    return 0;
}
