/* The lane's pump in C: the loop that serves the sockets of connections
 * with no fault in play (see vaurien/fastpath/pump.py, which has the same
 * behaviour in Python and documents it).  Built when a C compiler is at
 * hand; optional. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TROUBLE (EPOLLRDHUP | EPOLLHUP | EPOLLERR)

/* One connection: its two sockets, client's first. */
typedef struct {
    int fds[2];
    PyObject *key;          /* what actions name it by (the connection) */
    PyObject *follow[2];    /* followers per direction, or NULL (tcp) */
    PyObject *slot;         /* the skim slot it entered with */
    PyObject *admit;        /* asked about each chunk from the client, or NULL */
    long long budget;       /* bytes it may pass before "splice" */
    long long passed;
    int dropped;
} Conn;

typedef struct {
    PyObject_HEAD
    int epfd;
    Py_ssize_t read_size;
    char *buf;
    PyObject *spare;        /* bytes ready for the rest of a partial send */
    Conn **by_fd;
    Py_ssize_t by_fd_len;
    Py_ssize_t count;
    struct epoll_event *events;
    int events_len;
    Conn *serving;          /* the connection being served, if any */
    int busy;               /* serve() is running: no other may start */
    PyObject *held;         /* actions of a serve() that failed, or NULL */
} Pump;

static PyObject *str_active, *str_end, *str_failed, *str_fault, *str_partial,
    *str_stop, *str_splice;

static Conn *
lookup(Pump *self, long fd)
{
    return (fd >= 0 && fd < self->by_fd_len) ? self->by_fd[fd] : NULL;
}

static void
conn_free(Conn *conn)
{
    Py_XDECREF(conn->key);
    Py_XDECREF(conn->follow[0]);
    Py_XDECREF(conn->follow[1]);
    Py_XDECREF(conn->slot);
    Py_XDECREF(conn->admit);
    PyMem_Free(conn);
}

/* Take a connection's sockets out of the epoll set and the table; the
 * caller frees it. */
static void
drop(Pump *self, Conn *conn)
{
    for (int side = 0; side < 2; side++) {
        epoll_ctl(self->epfd, EPOLL_CTL_DEL, conn->fds[side], NULL);
        self->by_fd[conn->fds[side]] = NULL;
    }
    conn->dropped = 1;
    self->count--;
}

static int
Pump_init(Pump *self, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = {"read_size", NULL};
    Py_ssize_t read_size;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "n", kwlist, &read_size))
        return -1;
    if (read_size < 1) {
        PyErr_SetString(PyExc_ValueError, "read_size must be positive");
        return -1;
    }
    if (self->buf != NULL) {  /* closed or not, it keeps its buffer */
        PyErr_SetString(PyExc_RuntimeError, "Pump already initialised");
        return -1;
    }
    int epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    self->buf = PyMem_Malloc(read_size);
    if (self->buf == NULL) {
        close(epfd);
        PyErr_NoMemory();
        return -1;
    }
    self->read_size = read_size;
    self->epfd = epfd;
    return 0;
}

static PyObject *
Pump_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    Pump *self = (Pump *)type->tp_alloc(type, 0);
    if (self != NULL)
        self->epfd = -1;
    return (PyObject *)self;
}

static void
release_all(Pump *self)
{
    Py_CLEAR(self->held);
    for (Py_ssize_t fd = 0; fd < self->by_fd_len; fd++) {
        Conn *conn = self->by_fd[fd];
        if (conn != NULL && conn->fds[0] == fd) {
            self->by_fd[conn->fds[1]] = NULL;
            self->by_fd[fd] = NULL;
            conn->dropped = 1;
            if (conn != self->serving)
                conn_free(conn);  /* else the serving loop frees it */
        }
    }
    self->count = 0;
}

static PyObject *
Pump_close(Pump *self, PyObject *unused)
{
    if (self->busy) {
        PyErr_SetString(PyExc_RuntimeError, "the pump is serving");
        return NULL;
    }
    release_all(self);
    if (self->epfd >= 0) {
        close(self->epfd);
        self->epfd = -1;
    }
    Py_RETURN_NONE;
}

static int
Pump_traverse(Pump *self, visitproc visit, void *arg)
{
    Py_VISIT(self->held);
    for (Py_ssize_t fd = 0; fd < self->by_fd_len; fd++) {
        Conn *conn = self->by_fd[fd];
        if (conn != NULL && conn->fds[0] == fd) {
            Py_VISIT(conn->key);
            Py_VISIT(conn->follow[0]);
            Py_VISIT(conn->follow[1]);
            Py_VISIT(conn->slot);
            Py_VISIT(conn->admit);
        }
    }
    return 0;
}

static int
Pump_clear(Pump *self)
{
    release_all(self);
    return 0;
}

static void
Pump_dealloc(Pump *self)
{
    PyObject_GC_UnTrack(self);
    self->serving = NULL;
    self->busy = 0;
    Py_XDECREF(Pump_close(self, NULL));
    Py_CLEAR(self->spare);
    PyMem_Free(self->by_fd);
    PyMem_Free(self->buf);
    PyMem_Free(self->events);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
Pump_fileno(Pump *self, PyObject *unused)
{
    return PyLong_FromLong(self->epfd);
}

static Py_ssize_t
Pump_len(Pump *self)
{
    return self->count;
}

/* Make the table hold `fd`, an open descriptor (below the process's
 * limit on them): doubling from 64, in size_t, cannot overflow for an int. */
static int
grow_table(Pump *self, int fd)
{
    if (fd < self->by_fd_len)
        return 0;
    size_t size = self->by_fd_len ? (size_t)self->by_fd_len : 64;
    while (size <= (size_t)fd)
        size *= 2;
    if (size > (size_t)PY_SSIZE_T_MAX / sizeof(Conn *)) {
        PyErr_NoMemory();
        return -1;
    }
    Conn **table = PyMem_Realloc(self->by_fd, size * sizeof(Conn *));
    if (table == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memset(table + self->by_fd_len, 0, (size - (size_t)self->by_fd_len) * sizeof(Conn *));
    self->by_fd = table;
    self->by_fd_len = size;
    return 0;
}

static PyObject *
Pump_add(Pump *self, PyObject *args)
{
    int client_fd, backend_fd;
    PyObject *key, *follow_requests, *follow_replies, *slot, *admit = Py_None;
    long long budget;
    if (!PyArg_ParseTuple(args, "iiOOOOL|O", &client_fd, &backend_fd, &key,
                          &follow_requests, &follow_replies, &slot, &budget, &admit))
        return NULL;
    if (self->epfd < 0) {
        PyErr_SetString(PyExc_ValueError, "the pump is closed");
        return NULL;
    }
    if (client_fd < 0 || backend_fd < 0 || client_fd == backend_fd
        || lookup(self, client_fd) || lookup(self, backend_fd)) {
        PyErr_SetString(PyExc_ValueError, "sockets already in the pump, or not two");
        return NULL;
    }
    Conn *conn = PyMem_Calloc(1, sizeof(Conn));
    if (conn == NULL)
        return PyErr_NoMemory();
    conn->fds[0] = client_fd;
    conn->fds[1] = backend_fd;
    conn->budget = budget;
    /* epoll first: it refuses what is not an open descriptor, so the
     * table grows only for real ones. */
    int side;
    for (side = 0; side < 2; side++) {
        struct epoll_event event = {.events = EPOLLIN | EPOLLRDHUP};
        event.data.fd = conn->fds[side];
        if (epoll_ctl(self->epfd, EPOLL_CTL_ADD, conn->fds[side], &event) < 0) {
            PyErr_SetFromErrno(PyExc_OSError);
            break;
        }
    }
    if (side < 2 || grow_table(self, client_fd > backend_fd ? client_fd : backend_fd) < 0) {
        while (side-- > 0)
            epoll_ctl(self->epfd, EPOLL_CTL_DEL, conn->fds[side], NULL);
        PyMem_Free(conn);
        return NULL;
    }
    Py_INCREF(key);
    conn->key = key;
    if (follow_requests != Py_None) {
        Py_INCREF(follow_requests);
        conn->follow[0] = follow_requests;
    }
    if (follow_replies != Py_None) {
        Py_INCREF(follow_replies);
        conn->follow[1] = follow_replies;
    }
    Py_INCREF(slot);
    conn->slot = slot;
    if (admit != Py_None) {
        Py_INCREF(admit);
        conn->admit = admit;
    }
    self->by_fd[client_fd] = self->by_fd[backend_fd] = conn;
    self->count++;
    Py_RETURN_NONE;
}

static PyObject *
Pump_remove(Pump *self, PyObject *arg)
{
    int overflow;
    long fd = PyLong_AsLongAndOverflow(arg, &overflow);
    if (fd == -1 && PyErr_Occurred())
        return NULL;
    Conn *conn = overflow ? NULL : lookup(self, fd);
    if (conn == NULL)
        Py_RETURN_NONE;
    drop(self, conn);
    PyObject *passed = PyLong_FromLongLong(conn->passed);
    if (conn != self->serving)
        conn_free(conn);  /* else the serving loop frees it */
    return passed;
}

/* Append (kind, key, from_client, payload, passed) to actions; the first
 * action of a connection drops it and reports the bytes it passed.  The
 * action is made first: if that fails, the connection stays. */
static int
act(Pump *self, PyObject *actions, PyObject *kind, Conn *conn, int side,
    PyObject *payload)
{
    PyObject *action = Py_BuildValue("(OOOOL)", kind, conn->key,
                                     side == 0 ? Py_True : Py_False,
                                     payload ? payload : Py_None,
                                     conn->dropped ? 0LL : conn->passed);
    if (action == NULL)
        return -1;
    int failed = PyList_Append(actions, action);
    Py_DECREF(action);
    if (failed == 0 && !conn->dropped)
        drop(self, conn);
    return failed;
}

/* The follower raised an Exception (a FramingError, or a bug): the
 * connection stops skimming, with the exception to say why.  Anything
 * else (KeyboardInterrupt, SystemExit) goes on up, as in Python. */
static int
stop(Pump *self, PyObject *actions, Conn *conn, int side)
{
    if (!PyErr_ExceptionMatches(PyExc_Exception))
        return -1;
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (traceback != NULL)
        PyException_SetTraceback(value, traceback);
    Py_XDECREF(type);
    Py_XDECREF(traceback);
    int failed = act(self, actions, str_stop, conn, side, value);
    Py_XDECREF(value);
    return failed;
}

/* Read a chunk of the socket of `side` into buf.  Returns its size; 0
 * when there is none (nothing yet, or an end or error, made an action);
 * -1 on a Python error. */
static Py_ssize_t
read_chunk(Pump *self, PyObject *actions, Conn *conn, int side, char *buf)
{
    ssize_t got;
    do {
        got = recv(conn->fds[side], buf, self->read_size, 0);
    } while (got < 0 && errno == EINTR);
    if (got > 0)
        return got;
    if (got == 0)
        return act(self, actions, str_end, conn, side, NULL);
    if (errno == EAGAIN || errno == EWOULDBLOCK)
        return 0;
    PyObject *message = PyUnicode_FromString(strerror(errno));
    if (message == NULL)
        return -1;
    int failed = act(self, actions, str_failed, conn, side, message);
    Py_DECREF(message);
    return failed;
}

/* Whether admit takes the chunk: 1 or 0; an exception counts as a
 * refusal (its owner, asking again, meets it). */
static int
admitted(PyObject *admit, PyObject *chunk)
{
    PyObject *verdict = PyObject_CallOneArg(admit, chunk);
    int yes = verdict == NULL ? -1 : PyObject_IsTrue(verdict);
    Py_XDECREF(verdict);
    if (yes < 0) {
        if (!PyErr_ExceptionMatches(PyExc_Exception))
            return -1;
        PyErr_Clear();
        return 0;
    }
    return yes;
}

/* A chunk of a connection whose slot is no longer the quiet one, or
 * that its admit refuses (when `admit` is given): read into its own
 * bytes object, made before reading (a MemoryError leaves the chunk in
 * the socket), and handed back unsent.  A chunk admit takes is left in
 * *taken (with its size returned) for the caller to send. */
static Py_ssize_t
serve_fault(Pump *self, Conn *conn, int side, PyObject *actions, long long *moved,
            PyObject *admit, PyObject **taken)
{
    PyObject *chunk = PyBytes_FromStringAndSize(NULL, self->read_size);
    if (chunk == NULL)
        return -1;
    Py_ssize_t got = read_chunk(self, actions, conn, side, PyBytes_AS_STRING(chunk));
    if (got > 0) {
        moved[side] += got;
        if (got < self->read_size && _PyBytes_Resize(&chunk, got) < 0)
            return -1;
        if (admit != NULL) {
            int yes = admitted(admit, chunk);
            if (yes < 0) {
                Py_DECREF(chunk);
                return -1;
            }
            if (yes) {
                *taken = chunk;
                return got;
            }
        }
        got = act(self, actions, str_fault, conn, side, chunk);
        if (got == 0)
            got = PyObject_SetAttr(conn->key, str_active, Py_True);
    }
    Py_DECREF(chunk);
    return got < 0 ? -1 : 0;
}

/* The rest of a chunk the peer did not take, handed back in the spare
 * bytes object (made before the chunk was read). */
static int
hand_back_rest(Pump *self, Conn *conn, int side, PyObject *actions, const char *buf,
               Py_ssize_t sent, Py_ssize_t got)
{
    PyObject *rest = self->spare;
    self->spare = NULL;
    memcpy(PyBytes_AS_STRING(rest), buf + sent, got - sent);
    if (_PyBytes_Resize(&rest, got - sent) < 0)
        return -1;
    int failed = act(self, actions, str_partial, conn, side, rest);
    Py_DECREF(rest);
    return failed;
}

/* One ready socket.  Every chunk read is sent, or handed back in an
 * action, before anything else that may fail.  Returns -1 on a Python
 * error. */
static int
serve_one(Pump *self, Conn *conn, int side, uint32_t events, PyObject *quiet,
          PyObject *actions, long long *moved, long long *calls)
{
    PyObject *follow = conn->follow[side];
    PyObject *admit = side == 0 ? conn->admit : NULL, *data = NULL;
    if (events & TROUBLE)
        return act(self, actions, str_end, conn, side, NULL);
    if (self->spare == NULL
        && (self->spare = PyBytes_FromStringAndSize(NULL, self->read_size)) == NULL)
        return -1;
    Py_ssize_t got, sent;
    const char *buf = self->buf;
    if (follow != NULL && (conn->slot != quiet || admit != NULL)) {
        got = serve_fault(self, conn, side, actions, moved, conn->slot == quiet ? admit : NULL,
                          &data);
        if (data == NULL)
            return got < 0 ? -1 : 0;
        buf = PyBytes_AS_STRING(data);  /* admitted: sent and followed below */
    } else {
        got = read_chunk(self, actions, conn, side, self->buf);
        if (got <= 0)
            return (int)got;
        moved[side] += got;
    }
    do {
        sent = send(conn->fds[1 - side], buf, got, MSG_NOSIGNAL | MSG_DONTWAIT);
    } while (sent < 0 && errno == EINTR);
    if (sent < 0)
        sent = 0;  /* would block, or failed: the transport sees to it */
    conn->passed += got;
    if ((sent != got && hand_back_rest(self, conn, side, actions, buf, sent, got) < 0)
        || PyObject_SetAttr(conn->key, str_active, Py_True) < 0) {
        Py_XDECREF(data);
        return -1;
    }
    if (follow == NULL) {
        if (conn->passed > conn->budget)
            return act(self, actions, str_splice, conn, side, NULL);
        return 0;
    }
    if (data == NULL && (data = PyBytes_FromStringAndSize(self->buf, got)) == NULL)
        return stop(self, actions, conn, side);
    PyObject *count = PyObject_CallOneArg(follow, data);
    Py_DECREF(data);
    long long more = 0;
    if (count != NULL) {
        if (side == 0)
            more = PyLong_AsLongLong(count);  /* a TypeError if not an int */
        Py_DECREF(count);
    }
    if (PyErr_Occurred())
        return stop(self, actions, conn, side);
    *calls += more;
    return 0;
}

/* Serve the first n of self->events.  The outer set's descriptor, when
 * among them, is not served: *outer_ready notes it.  Returns -1 on a
 * Python error (out of memory). */
static int
serve_events(Pump *self, int n, int outer, PyObject *quiet, PyObject *actions,
             long long *moved, long long *calls, int *outer_ready)
{
    for (int i = 0; i < n; i++) {
        int fd = self->events[i].data.fd;
        if (fd == outer) {
            *outer_ready = 1;
            continue;
        }
        Conn *conn = lookup(self, fd);
        if (conn == NULL)
            continue;  /* it left in this turn */
        int side = conn->fds[0] == fd ? 0 : 1;
        self->serving = conn;  /* a follower may call back into the pump */
        int failed = serve_one(self, conn, side, self->events[i].events, quiet,
                               actions, moved, calls);
        self->serving = NULL;
        if (conn->dropped)
            conn_free(conn);
        if (failed < 0)
            return -1;
    }
    return 0;
}

/* Take `leaving` out of the epoll set `from`, then put `entering` in the
 * set `into`, as a reader; the first step is undone if the second fails.
 * Returns -1 (errno set) if either fails. */
static int
swap_nesting(int from, int leaving, int into, int entering)
{
    struct epoll_event event = {.events = EPOLLIN};
    if (epoll_ctl(from, EPOLL_CTL_DEL, leaving, NULL) < 0)
        return -1;
    event.data.fd = entering;
    if (epoll_ctl(into, EPOLL_CTL_ADD, entering, &event) == 0)
        return 0;
    int error = errno;
    event.data.fd = leaving;
    epoll_ctl(from, EPOLL_CTL_ADD, leaving, &event);
    errno = error;
    return -1;
}

/* Milliseconds left of a wait of `wait` begun at `start`, rounded up. */
static int
left_of(const struct timespec *start, int wait)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long spent_us = (now.tv_sec - start->tv_sec) * 1000000LL
        + (now.tv_nsec - start->tv_nsec) / 1000;
    long long left = wait - spent_us / 1000;
    return left > 0 ? (int)left : 0;
}

/* After a first round: wait here, the GIL released, for more of this
 * set's sockets, until `wait` ms are spent (-1: no limit), an action is
 * due, or the outer set has something else ready.  Returns -1 with a
 * Python error set. */
static int
serve_waiting(Pump *self, int outer, int wait, int batch, PyObject *quiet,
              PyObject *actions, long long *moved, long long *calls)
{
    /* This set leaves the outer one and takes it in (epoll refuses a loop). */
    if (swap_nesting(outer, self->epfd, self->epfd, outer) < 0)
        return 0;  /* not in the outer set: nothing to wait in */
    struct timespec start;
    clock_gettime(CLOCK_MONOTONIC, &start);
    int outer_ready = 0, failed = 0, error = 0;
    while (!outer_ready && PyList_GET_SIZE(actions) == 0 && self->count > 0) {
        int timeout = wait < 0 ? -1 : left_of(&start, wait);
        if (timeout == 0)
            break;
        int ready;
        Py_BEGIN_ALLOW_THREADS
        ready = epoll_wait(self->epfd, self->events, batch, timeout);
        Py_END_ALLOW_THREADS
        if (ready <= 0) {
            if (ready < 0 && errno != EINTR)  /* EINTR: a signal for Python */
                error = errno;
            break;
        }
        if (serve_events(self, ready, outer, quiet, actions, moved, calls, &outer_ready) < 0) {
            failed = 1;
            break;
        }
    }
    if (swap_nesting(self->epfd, outer, outer, self->epfd) < 0 && !failed) {  /* back */
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    if (error && !failed) {
        errno = error;
        PyErr_SetFromErrno(PyExc_OSError);
        return -1;
    }
    return failed ? -1 : 0;
}

/* Pump.serve, with the pump marked busy. */
static PyObject *
serve(Pump *self, PyObject *quiet, int batch, int outer, int wait)
{
    if (batch < 1)
        batch = 1;
    if (batch > self->events_len) {
        struct epoll_event *events = PyMem_Realloc(self->events, batch * sizeof(*events));
        if (events == NULL)
            return PyErr_NoMemory();
        self->events = events;
        self->events_len = batch;
    }
    int ready;
    do {
        ready = epoll_wait(self->epfd, self->events, batch, 0);
    } while (ready < 0 && errno == EINTR);
    if (ready < 0)
        return PyErr_SetFromErrno(PyExc_OSError);
    /* The actions of a serve that failed come first: their connections
     * left the pump already. */
    PyObject *actions = self->held != NULL ? self->held : PyList_New(0);
    self->held = NULL;
    if (actions == NULL)
        return NULL;
    long long moved[2] = {0, 0}, calls = 0;
    int outer_ready = 0;
    if (serve_events(self, ready, -1, quiet, actions, moved, &calls, &outer_ready) < 0
        || (outer >= 0 && wait != 0 && PyList_GET_SIZE(actions) == 0
            && serve_waiting(self, outer, wait, batch, quiet, actions, moved, &calls) < 0)) {
        self->held = actions;
        return NULL;
    }
    return Py_BuildValue("(LLLN)", moved[0], moved[1], calls, actions);
}

static PyObject *
Pump_serve(Pump *self, PyObject *args)
{
    PyObject *quiet;
    int batch, outer = -1, wait = 0;
    if (!PyArg_ParseTuple(args, "Oi|ii", &quiet, &batch, &outer, &wait))
        return NULL;
    if (self->epfd < 0) {
        PyErr_SetString(PyExc_ValueError, "the pump is closed");
        return NULL;
    }
    if (self->busy) {  /* a follower, or another thread, while it serves */
        PyErr_SetString(PyExc_RuntimeError, "the pump is serving");
        return NULL;
    }
    self->busy = 1;
    PyObject *result = serve(self, quiet, batch, outer, wait);
    self->busy = 0;
    return result;
}

static PyMethodDef Pump_methods[] = {
    {"fileno", (PyCFunction)Pump_fileno, METH_NOARGS, "The epoll set's descriptor."},
    {"add", (PyCFunction)Pump_add, METH_VARARGS,
     "add(client_fd, backend_fd, key, follow_requests, follow_replies, slot, budget,"
     " admit=None)"},
    {"remove", (PyCFunction)Pump_remove, METH_O,
     "remove(fd) -> bytes the connection passed, or None if not here"},
    {"serve", (PyCFunction)Pump_serve, METH_VARARGS,
     "serve(quiet, batch, outer=-1, wait=0) -> (to_backend, to_client, calls, actions)"},
    {"close", (PyCFunction)Pump_close, METH_NOARGS, "Drop every connection, close the set."},
    {NULL}
};

static PySequenceMethods Pump_as_sequence = {
    .sq_length = (lenfunc)Pump_len,
};

static PyTypeObject PumpType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vaurien.fastpath._pump.Pump",
    .tp_doc = "The lane's loop over ready sockets (see vaurien.fastpath.pump).",
    .tp_basicsize = sizeof(Pump),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = (traverseproc)Pump_traverse,
    .tp_clear = (inquiry)Pump_clear,
    .tp_new = Pump_new,
    .tp_init = (initproc)Pump_init,
    .tp_dealloc = (destructor)Pump_dealloc,
    .tp_methods = Pump_methods,
    .tp_as_sequence = &Pump_as_sequence,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "vaurien.fastpath._pump",
    "The lane's pump in C (see vaurien.fastpath.pump).", -1, NULL,
};

PyMODINIT_FUNC
PyInit__pump(void)
{
    struct { PyObject **name; const char *text; } names[] = {
        {&str_active, "active"}, {&str_end, "end"}, {&str_failed, "failed"},
        {&str_fault, "fault"}, {&str_partial, "partial"}, {&str_stop, "stop"},
        {&str_splice, "splice"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (*names[i].name == NULL && !(*names[i].name = PyUnicode_InternFromString(names[i].text)))
            return NULL;
    }
    if (PyType_Ready(&PumpType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    Py_INCREF(&PumpType);
    if (PyModule_AddObject(m, "Pump", (PyObject *)&PumpType) < 0) {
        Py_DECREF(&PumpType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
