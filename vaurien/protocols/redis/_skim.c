/* vaurien.protocols.redis._skim: C versions of the RESP skimmers of
 * vaurien.protocols.redis.skim.
 *
 * skim_commands and skim_plain_replies follow whole, plain RESP frames at
 * the start of a buffer without cutting them out, exactly as the Python
 * functions of the same names do (tests/test_resp_skim.py holds the two
 * to the same answers). The build is optional: without a compiler the
 * Python versions run.
 *
 * Tally and Follower let the lane's pump follow a skimming Redis
 * connection without a Python call per chunk (see RedisFraming.followers
 * in vaurien/protocols/redis/protocol.py).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <string.h>
#include "structmember.h"
#include "_follower.h"

/* The index of the first CRLF starting in [from, limit - 1), or -1:
 * Python's data.find(b"\r\n", from, limit). */
static Py_ssize_t
find_crlf(const char *data, Py_ssize_t from, Py_ssize_t limit)
{
    const char *at;
    while (from + 1 < limit) {
        at = memchr(data + from, '\r', (size_t)(limit - 1 - from));
        if (at == NULL)
            return -1;
        from = at - data;
        if (data[from + 1] == '\n')
            return from;
        from++;
    }
    return -1;
}

/* The decimal number in data[from:to], all ASCII digits, at most 19 of
 * them; -1 otherwise (Python's digits.isdigit() then int()). */
static long long
parse_digits(const char *data, Py_ssize_t from, Py_ssize_t to)
{
    unsigned long long value = 0;
    Py_ssize_t i;
    if (to <= from || to - from > 19)
        return -1;
    for (i = from; i < to; i++) {
        if (data[i] < '0' || data[i] > '9')
            return -1;
        value = value * 10 + (unsigned long long)(data[i] - '0');
    }
    return value > (unsigned long long)LLONG_MAX ? -1 : (long long)value;
}

/* As WATCHED in skim.py: they change how the stream is framed, or set the
 * connection up (no fault drawn for them). */
static const char *const WATCHED[] = {
    "CLIENT", "MONITOR", "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", "HELLO", "AUTH", "SELECT",
    NULL
};

/* Whether data[from:from + length], in upper case, is a watched command. */
static int
is_watched(const char *data, Py_ssize_t from, Py_ssize_t length)
{
    const char *const *word;
    Py_ssize_t i;
    for (word = WATCHED; *word != NULL; word++) {
        if ((Py_ssize_t)strlen(*word) != length)
            continue;
        for (i = 0; i < length; i++) {
            char c = data[from + i];
            if (c >= 'a' && c <= 'z')
                c -= 'a' - 'A';
            if (c != (*word)[i])
                break;
        }
        if (i == length)
            return 1;
    }
    return 0;
}

/* Python's bytes.isspace() for one byte. */
static int
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The end (after its LF) of the whole inline command at pos, or -1 when
 * it is not whole, longer than max_inline, blank, or watched. */
static Py_ssize_t
skim_inline(const char *data, Py_ssize_t pos, Py_ssize_t size, long long max_inline)
{
    const char *lf;
    Py_ssize_t eol, word, word_end;
    lf = memchr(data + pos, '\n', (size_t)(size - pos));
    if (lf == NULL)
        return -1;
    eol = lf - data;
    if (eol - pos > max_inline)
        return -1;
    for (word = pos; word < eol && is_space(data[word]); word++)
        ;
    if (word == eol)
        return -1;
    for (word_end = word; word_end < eol && !is_space(data[word_end]); word_end++)
        ;
    if (is_watched(data, word, word_end - word))
        return -1;
    return eol + 1;
}

/* The end of the whole plain requests at the start of data[0:size];
 * *counted is set to how many there are. */
static Py_ssize_t
scan_commands(const char *data, Py_ssize_t size, long long max_elements,
              long long max_bulk, long long max_inline, Py_ssize_t *counted)
{
    Py_ssize_t pos = 0, count = 0, at, eol, end, limit;
    long long elements, length, index;

    while (pos < size) {
        if (data[pos] != '*') {
            at = skim_inline(data, pos, size, max_inline);
            if (at < 0)
                break;
            pos = at;
            count++;
            continue;
        }
        limit = pos + 22 < size ? pos + 22 : size;
        eol = find_crlf(data, pos, limit);
        if (eol < 0)
            break;
        elements = parse_digits(data, pos + 1, eol);
        if (elements <= 0 || elements > max_elements)
            break;
        at = eol + 2;
        for (index = 0; index < elements; index++) {
            if (at >= size || data[at] != '$')
                goto done;
            limit = at + 23 < size ? at + 23 : size;
            eol = find_crlf(data, at, limit);
            if (eol < 0)
                goto done;
            length = parse_digits(data, at + 1, eol);
            /* compared before adding: eol + 4 + length may not fit */
            if (length < 0 || length > max_bulk || length > size - eol - 4)
                goto done;
            end = eol + 2 + (Py_ssize_t)length;
            if (data[end] != '\r' || data[end + 1] != '\n')
                goto done;
            if (index == 0 && is_watched(data, eol + 2, (Py_ssize_t)length))
                goto done;
            at = end + 2;
        }
        pos = at;
        count++;
    }
done:
    *counted = count;
    return pos;
}

static PyObject *
skim_commands(PyObject *module, PyObject *args)
{
    Py_buffer view;
    long long max_elements, max_bulk, max_inline;
    Py_ssize_t end, count;

    if (!PyArg_ParseTuple(args, "y*LLL", &view, &max_elements, &max_bulk, &max_inline))
        return NULL;
    end = scan_commands(view.buf, view.len, max_elements, max_bulk, max_inline, &count);
    PyBuffer_Release(&view);
    return Py_BuildValue("nn", end, count);
}

/* The end of the whole plain replies at the start of data[0:size];
 * *counted is set to how many there are. */
static Py_ssize_t
scan_plain_replies(const char *data, Py_ssize_t size, long long max_bulk,
                   long long max_line, Py_ssize_t *counted)
{
    long long length;
    Py_ssize_t pos = 0, count = 0, eol, end, limit;
    char kind;

    while (pos < size) {
        kind = data[pos];
        if (kind == '$') {
            limit = pos + 23 < size ? pos + 23 : size;
            eol = find_crlf(data, pos, limit);
            if (eol < 0)
                break;
            if (eol == pos + 3 && data[pos + 1] == '-' && data[pos + 2] == '1') {
                pos = eol + 2;
            } else {
                length = parse_digits(data, pos + 1, eol);
                if (length < 0 || length > max_bulk || length > size - eol - 4)
                    break;
                end = eol + 2 + (Py_ssize_t)length;
                if (data[end] != '\r' || data[end + 1] != '\n')
                    break;
                pos = end + 2;
            }
        } else if (kind == '+' || kind == '-' || kind == ':') {
            /* Python's find(b"\r\n", pos + 1, pos + max_line + 3) */
            limit = max_line < size - pos - 3 ? pos + (Py_ssize_t)max_line + 3 : size;
            eol = find_crlf(data, pos + 1, limit);
            if (eol < 0)
                break;
            pos = eol + 2;
        } else {
            break;
        }
        count++;
    }
    *counted = count;
    return pos;
}

static PyObject *
skim_plain_replies(PyObject *module, PyObject *args)
{
    Py_buffer view;
    long long max_bulk, max_line;
    Py_ssize_t end, count;

    if (!PyArg_ParseTuple(args, "y*LL", &view, &max_bulk, &max_line))
        return NULL;
    end = scan_plain_replies(view.buf, view.len, max_bulk, max_line, &count);
    PyBuffer_Release(&view);
    return Py_BuildValue("nn", end, count);
}

/* What a skimming Redis connection keeps between chunks: the replies
 * owed, and whether each direction rests between plain frames (nothing
 * held, no failure, no CLIENT REPLY mode), where a chunk of whole plain
 * frames is followed in one step. */
typedef struct {
    PyObject_HEAD
    long long expected;
    char plain_requests;
    char plain_replies;
} Tally;

static PyMemberDef Tally_members[] = {
    {"expected", T_LONGLONG, offsetof(Tally, expected), 0, "Replies owed."},
    {"plain_requests", T_BOOL, offsetof(Tally, plain_requests), 0,
     "Whether the next requests may be followed in one step."},
    {"plain_replies", T_BOOL, offsetof(Tally, plain_replies), 0,
     "Whether the next replies may be followed in one step."},
    {NULL},
};

static PyTypeObject TallyType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vaurien.protocols.redis._skim.Tally",
    .tp_basicsize = sizeof(Tally),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "What a skimming Redis connection keeps between chunks.",
    .tp_new = PyType_GenericNew,
    .tp_members = Tally_members,
};

/* The two followers the lane's pump calls per chunk: a chunk of whole
 * plain frames is counted here; any other goes to the framing's own
 * skim_requests or skim_replies, which give the same answers. */
typedef struct {
    PyObject_HEAD
    Tally *tally;
    PyObject *slow[2];      /* the framing's skim_requests, skim_replies */
    long long max_elements, max_bulk_requests, max_inline;
    long long max_bulk_replies, max_line;
} Follower;

static int
Follower_init(Follower *self, PyObject *args, PyObject *kwds)
{
    PyObject *tally, *requests, *replies;
    if (!PyArg_ParseTuple(args, "O!OO(LLL)(LL)", &TallyType, &tally, &requests, &replies,
                          &self->max_elements, &self->max_bulk_requests, &self->max_inline,
                          &self->max_bulk_replies, &self->max_line))
        return -1;
    Py_INCREF(tally);
    Py_XSETREF(self->tally, (Tally *)tally);
    Py_INCREF(requests);
    Py_XSETREF(self->slow[0], requests);
    Py_INCREF(replies);
    Py_XSETREF(self->slow[1], replies);
    return 0;
}

static void
Follower_dealloc(Follower *self)
{
    Py_XDECREF(self->tally);
    Py_XDECREF(self->slow[0]);
    Py_XDECREF(self->slow[1]);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *
Follower_requests(Follower *self, PyObject *data)
{
    if (check_initialised(self->tally) < 0)
        return framing_error();
    Tally *tally = self->tally;
    if (tally->plain_requests && PyBytes_CheckExact(data)) {
        Py_ssize_t size = PyBytes_GET_SIZE(data), count;
        Py_ssize_t end = scan_commands(PyBytes_AS_STRING(data), size, self->max_elements,
                                       self->max_bulk_requests, self->max_inline, &count);
        if (end == size) {
            tally->expected += count;
            PyObject *counted = PyLong_FromSsize_t(count);
            return counted != NULL ? counted : framing_error();
        }
    }
    PyObject *counted = PyObject_CallOneArg(self->slow[0], data);
    return counted != NULL ? counted : framing_error();
}

static PyObject *
Follower_replies(Follower *self, PyObject *data)
{
    if (check_initialised(self->tally) < 0)
        return framing_error();
    Tally *tally = self->tally;
    if (tally->plain_replies && PyBytes_CheckExact(data)) {
        Py_ssize_t size = PyBytes_GET_SIZE(data), count;
        Py_ssize_t end = scan_plain_replies(PyBytes_AS_STRING(data), size,
                                            self->max_bulk_replies, self->max_line, &count);
        if (end == size && count <= tally->expected) {
            tally->expected -= count;
            Py_RETURN_NONE;
        }
    }
    PyObject *done = PyObject_CallOneArg(self->slow[1], data);
    return done != NULL ? done : framing_error();
}

static PyMethodDef Follower_methods[] = {
    {"requests", (PyCFunction)Follower_requests, METH_O,
     "requests(data) -> count: as RedisFraming.skim_requests"},
    {"replies", (PyCFunction)Follower_replies, METH_O,
     "replies(data) -> None: as RedisFraming.skim_replies"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject FollowerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vaurien.protocols.redis._skim.Follower",
    .tp_basicsize = sizeof(Follower),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Follower(tally, skim_requests, skim_replies,"
              " (max_elements, max_bulk, max_inline), (max_bulk, max_line))",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Follower_init,
    .tp_dealloc = (destructor)Follower_dealloc,
    .tp_methods = Follower_methods,
};

static PyMethodDef methods[] = {
    {"skim_commands", skim_commands, METH_VARARGS,
     "skim_commands(data, max_elements, max_bulk, max_inline) -> (end, count)"},
    {"skim_plain_replies", skim_plain_replies, METH_VARARGS,
     "skim_plain_replies(data, max_bulk, max_line) -> (end, count)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "vaurien.protocols.redis._skim",
    "C versions of the RESP skimmers of vaurien.protocols.redis.skim.", -1, methods,
};

PyMODINIT_FUNC
PyInit__skim(void)
{
    if (PyType_Ready(&TallyType) < 0 || PyType_Ready(&FollowerType) < 0)
        return NULL;
    PyObject *mod = PyModule_Create(&module);
    if (mod == NULL)
        return NULL;
    if (PyModule_AddObjectRef(mod, "Tally", (PyObject *)&TallyType) < 0
        || PyModule_AddObjectRef(mod, "Follower", (PyObject *)&FollowerType) < 0) {
        Py_DECREF(mod);
        return NULL;
    }
    return mod;
}
