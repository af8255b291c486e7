/* vaurien.protocols.http._skim: the fast way through the common HTTP/1.x
 * messages for the followers of vaurien.protocols.http.skim.
 *
 * Each function follows the whole, plain messages at the start of a
 * buffer (a head, then a body of known length, or none) and stops at the
 * first message it does not take on: an incomplete head, a chunked body,
 * a 1xx response, anything the followers would refuse. The Python
 * follower goes on from there, so these functions never raise for bad
 * input: they only need to agree with it on what they accept
 * (tests/test_http_skim.py holds the two to the same answers). Optional:
 * without a compiler the followers do everything in Python.
 *
 * Follower lets the lane's pump follow a skimming connection without a
 * Python call per chunk (SkimmingHttpFraming.followers).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>
#include "_follower.h"

/* Bytes of a token (RFC 9110 tchar). */
static int
is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Bytes of a field value, as the followers take them. */
static int
is_value_byte(unsigned char c)
{
    return c != 0 && c != '\n' && c != '\r' && c != 0x0b && c != 0x0c;
}

/* Python's data.find(b"\r\n\r\n", from, limit), or -1. */
static Py_ssize_t
find_head_end(const char *data, Py_ssize_t from, Py_ssize_t limit)
{
    while (from + 3 < limit) {
        const char *at = memchr(data + from, '\r', (size_t)(limit - 3 - from));
        if (at == NULL)
            return -1;
        Py_ssize_t found = at - data;
        if (data[found + 1] == '\n' && data[found + 2] == '\r' && data[found + 3] == '\n')
            return found;
        from = found + 1;
    }
    return -1;
}

/* What the fields of a head say about framing. */
typedef struct {
    int hosts;
    int upgrade;
    int expect_continue;
    int transfer_encoding;
    int lengths;                /* Content-Length elements seen */
    const char *length;         /* the first one, and its size */
    Py_ssize_t length_size;
    int lengths_differ;
} Fields;

/* Whether the lower-cased name data[from:to] is `name`. */
static int
name_is(const char *data, Py_ssize_t from, Py_ssize_t to, const char *name)
{
    Py_ssize_t size = (Py_ssize_t)strlen(name);
    if (to - from != size)
        return 0;
    for (Py_ssize_t i = 0; i < size; i++) {
        char c = data[from + i];
        if (c >= 'A' && c <= 'Z')
            c += 'a' - 'A';
        if (c != name[i])
            return 0;
    }
    return 1;
}

/* Each comma-separated Content-Length element of value [from, to),
 * stripped of whitespace, compared with the first one seen. */
static void
note_lengths(Fields *fields, const char *data, Py_ssize_t from, Py_ssize_t to)
{
    while (1) {
        Py_ssize_t comma = from;
        while (comma < to && data[comma] != ',')
            comma++;
        Py_ssize_t start = from, end = comma;
        while (start < end && (data[start] == ' ' || data[start] == '\t'))
            start++;
        while (end > start && (data[end - 1] == ' ' || data[end - 1] == '\t'))
            end--;
        if (fields->lengths == 0) {
            fields->length = data + start;
            fields->length_size = end - start;
        } else if (end - start != fields->length_size
                   || memcmp(data + start, fields->length, (size_t)(end - start)) != 0) {
            fields->lengths_differ = 1;
        }
        fields->lengths++;
        if (comma == to)
            return;
        from = comma + 1;
    }
}

/* Check the field lines of the head data[pos:head_end + 4] and note what
 * they say; 0 if one is malformed. */
static int
read_fields(const char *data, Py_ssize_t pos, Py_ssize_t head_end, Fields *fields)
{
    memset(fields, 0, sizeof(*fields));
    Py_ssize_t end = head_end + 2;  /* the blank line starts here */
    while (pos < end) {
        Py_ssize_t name = pos;
        while (pos < end && is_tchar((unsigned char)data[pos]))
            pos++;
        if (pos == name || pos >= end || data[pos] != ':')
            return 0;
        Py_ssize_t name_end = pos++;
        Py_ssize_t value = pos;
        while (pos < end && is_value_byte((unsigned char)data[pos]))
            pos++;
        if (data[pos] != '\r' || data[pos + 1] != '\n')
            return 0;  /* pos <= end: both bytes are in the head */
        Py_ssize_t value_end = pos;
        pos += 2;
        Py_ssize_t start = value, stop = value_end;
        while (start < stop && (data[start] == ' ' || data[start] == '\t'))
            start++;
        while (stop > start && (data[stop - 1] == ' ' || data[stop - 1] == '\t'))
            stop--;
        if (name_is(data, name, name_end, "host")) {
            fields->hosts++;
        } else if (name_is(data, name, name_end, "upgrade")) {
            fields->upgrade = 1;
        } else if (name_is(data, name, name_end, "expect")) {
            if (name_is(data, start, stop, "100-continue"))
                fields->expect_continue = 1;
        } else if (name_is(data, name, name_end, "transfer-encoding")) {
            fields->transfer_encoding = 1;
        } else if (name_is(data, name, name_end, "content-length")) {
            note_lengths(fields, data, start, stop);
        }
    }
    return pos == end;
}

/* The body length the fields give: 0 for none, -1 when the followers
 * must decide (a transfer coding, lengths that differ or are not plain
 * numbers of up to 18 digits). */
static long long
body_length(const Fields *fields)
{
    if (fields->transfer_encoding || fields->lengths_differ)
        return -1;
    if (fields->lengths == 0)
        return 0;
    if (fields->length_size < 1 || fields->length_size > 18)
        return -1;
    long long length = 0;
    for (Py_ssize_t i = 0; i < fields->length_size; i++) {
        char c = fields->length[i];
        if (c < '0' || c > '9')
            return -1;
        length = length * 10 + (c - '0');
    }
    return length;
}

/* Skip a body of `length` bytes at *pos; the part beyond the buffer goes
 * to *remaining. */
static void
skip_body(Py_ssize_t *pos, Py_ssize_t size, long long length, long long *remaining)
{
    if (length > size - *pos) {
        *remaining = length - (size - *pos);
        *pos = size;
    } else {
        *pos += (Py_ssize_t)length;
    }
}

/* Where the search for the end of a head from pos stops: Python's
 * data.find(b"\r\n\r\n", pos, pos + limit), compared before adding. */
static Py_ssize_t
head_limit(Py_ssize_t pos, Py_ssize_t limit, Py_ssize_t size)
{
    return limit < size - pos ? pos + limit : size;
}

/* Refuse (releasing the buffer) a start outside the data or a limit too
 * small for a head. */
static int
out_of_bounds(Py_buffer *view, Py_ssize_t pos, Py_ssize_t limit)
{
    if (pos >= 0 && pos <= view->len && limit >= 4)
        return 0;
    PyBuffer_Release(view);
    PyErr_SetString(PyExc_ValueError, "pos out of the data, or limit under 4");
    return 1;
}

/* Follow the whole, plain requests of data[pos:size]; append the method
 * of each to `methods`.  Returns where that stopped (-1 on a Python
 * error); *remaining is the body of the last one still to come. */
static Py_ssize_t
scan_requests(const char *data, Py_ssize_t size, Py_ssize_t pos, Py_ssize_t limit,
              PyObject *methods, long long *remaining)
{
    *remaining = 0;
    while (pos < size && *remaining == 0) {
        Py_ssize_t head_end = find_head_end(data, pos, head_limit(pos, limit, size));
        if (head_end < 0)
            break;
        /* The request line: TOKEN SP [\x21-\x7e]+ SP "HTTP/1." [01] CRLF */
        Py_ssize_t at = pos;
        while (is_tchar((unsigned char)data[at]))
            at++;
        Py_ssize_t method_end = at;
        if (at == pos || data[at] != ' ')
            break;
        Py_ssize_t target = ++at;
        while (data[at] >= 0x21 && data[at] <= 0x7e)
            at++;
        if (at == target || at + 9 > head_end || memcmp(data + at, " HTTP/1.", 8) != 0
            || (data[at + 8] != '0' && data[at + 8] != '1')
            || data[at + 9] != '\r' || data[at + 10] != '\n')
            break;
        int http11 = data[at + 8] == '1';
        Fields fields;
        if (!read_fields(data, at + 11, head_end, &fields))
            break;
        if (fields.upgrade || fields.expect_continue || (http11 && fields.hosts != 1)
            || name_is(data, pos, method_end, "connect"))
            break;
        long long length = body_length(&fields);
        if (length < 0)
            break;
        PyObject *method = PyBytes_FromStringAndSize(data + pos, method_end - pos);
        if (method == NULL || PyList_Append(methods, method) < 0) {
            Py_XDECREF(method);
            return -1;
        }
        Py_DECREF(method);
        pos = head_end + 4;
        skip_body(&pos, size, length, remaining);
    }
    return pos;
}

/* skim_requests(data, pos, limit) -> (end, methods, remaining) */
static PyObject *
skim_requests(PyObject *module, PyObject *args)
{
    Py_buffer view;
    Py_ssize_t pos, limit;
    long long remaining;
    if (!PyArg_ParseTuple(args, "y*nn", &view, &pos, &limit))
        return NULL;
    if (out_of_bounds(&view, pos, limit))
        return NULL;
    PyObject *methods = PyList_New(0);
    if (methods != NULL)
        pos = scan_requests(view.buf, view.len, pos, limit, methods, &remaining);
    PyBuffer_Release(&view);
    if (methods == NULL || pos < 0) {
        Py_XDECREF(methods);
        return NULL;
    }
    return Py_BuildValue("nNL", pos, methods, remaining);
}

/* Follow the whole, plain responses of data[pos:size], to the requests
 * whose methods `awaiting` holds, oldest first; *count is set to how
 * many.  Returns where that stopped (-1 on a Python error); *remaining is
 * the body of the last one still to come. */
static Py_ssize_t
scan_responses(const char *data, Py_ssize_t size, Py_ssize_t pos, Py_ssize_t limit,
               PyObject *awaiting, Py_ssize_t *count, long long *remaining)
{
    Py_ssize_t waiting = PyObject_Length(awaiting);
    *count = 0;
    *remaining = 0;
    if (waiting < 0)
        return -1;
    while (pos < size && *remaining == 0 && *count < waiting) {
        Py_ssize_t head_end = find_head_end(data, pos, head_limit(pos, limit, size));
        if (head_end < 0)
            break;
        /* The status line: "HTTP/1." [01] SP DIGIT{3} [SP VALUE] CRLF */
        const char *line = data + pos;
        if (pos + 12 > head_end || memcmp(line, "HTTP/1.", 7) != 0 || (line[7] != '0' && line[7] != '1')
            || line[8] != ' ' || line[9] < '0' || line[9] > '9'
            || line[10] < '0' || line[10] > '9' || line[11] < '0' || line[11] > '9')
            break;
        int status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
        Py_ssize_t at = pos + 12;
        if (data[at] == ' ') {
            at++;
            while (is_value_byte((unsigned char)data[at]))
                at++;
        }
        if (data[at] != '\r' || data[at + 1] != '\n')
            break;
        Fields fields;
        if (status < 200 || !read_fields(data, at + 2, head_end, &fields))
            break;
        long long length = body_length(&fields);
        if (length < 0)
            break;
        PyObject *method = PySequence_GetItem(awaiting, *count);
        if (method == NULL)
            return -1;
        int bodiless = status == 204 || status == 304
                       || (PyBytes_Check(method) && PyBytes_GET_SIZE(method) == 4
                           && memcmp(PyBytes_AS_STRING(method), "HEAD", 4) == 0);
        Py_DECREF(method);
        if (!bodiless && fields.lengths == 0)
            break;  /* delimited by the close */
        (*count)++;
        pos = head_end + 4;
        if (!bodiless)
            skip_body(&pos, size, length, remaining);
    }
    return pos;
}

/* skim_responses(data, pos, limit, awaiting) -> (end, count, remaining) */
static PyObject *
skim_responses(PyObject *module, PyObject *args)
{
    Py_buffer view;
    Py_ssize_t pos, limit, count;
    long long remaining;
    PyObject *awaiting;
    if (!PyArg_ParseTuple(args, "y*nnO", &view, &pos, &limit, &awaiting))
        return NULL;
    if (out_of_bounds(&view, pos, limit))
        return NULL;
    pos = scan_responses(view.buf, view.len, pos, limit, awaiting, &count, &remaining);
    PyBuffer_Release(&view);
    if (pos < 0)
        return NULL;
    return Py_BuildValue("nnL", pos, count, remaining);
}

static PyObject *str_plain, *str_feed, *str_extend, *str_popleft;

/* The two followers the lane's pump calls per chunk: a chunk of whole
 * plain messages, starting where the direction's follower rests (its
 * `plain` is True), is followed here; any other goes to that follower's
 * `feed`, which gives the same answers. */
typedef struct {
    PyObject_HEAD
    PyObject *followers[2];  /* the requests' and the responses' */
    PyObject *awaiting;      /* the methods of the requests not answered */
    Py_ssize_t limit;
} Follower;

static int
Follower_init(Follower *self, PyObject *args, PyObject *kwds)
{
    PyObject *requests, *responses, *awaiting;
    Py_ssize_t limit;
    if (!PyArg_ParseTuple(args, "OOOn", &requests, &responses, &awaiting, &limit))
        return -1;
    if (limit < 4) {
        PyErr_SetString(PyExc_ValueError, "limit under 4");
        return -1;
    }
    Py_INCREF(requests);
    Py_XSETREF(self->followers[0], requests);
    Py_INCREF(responses);
    Py_XSETREF(self->followers[1], responses);
    Py_INCREF(awaiting);
    Py_XSETREF(self->awaiting, awaiting);
    self->limit = limit;
    return 0;
}

static void
Follower_dealloc(Follower *self)
{
    Py_XDECREF(self->followers[0]);
    Py_XDECREF(self->followers[1]);
    Py_XDECREF(self->awaiting);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* 1 if the follower of `side` rests and `data` is bytes, 0 if not, -1
 * on a Python error. */
static int
may_skim(Follower *self, int side, PyObject *data)
{
    PyObject *plain = PyObject_GetAttr(self->followers[side], str_plain);
    if (plain == NULL)
        return -1;
    Py_DECREF(plain);
    return plain == Py_True && PyBytes_CheckExact(data);
}

/* Follower.requests, but for the errors it may raise. */
static PyObject *
follow_requests(Follower *self, PyObject *data)
{
    if (check_initialised(self->awaiting) < 0)
        return NULL;
    int fast = may_skim(self, 0, data);
    if (fast < 0)
        return NULL;
    if (fast) {
        Py_ssize_t size = PyBytes_GET_SIZE(data);
        long long remaining;
        PyObject *methods = PyList_New(0);
        if (methods == NULL)
            return NULL;
        Py_ssize_t end = scan_requests(PyBytes_AS_STRING(data), size, 0, self->limit,
                                       methods, &remaining);
        if (end == size && remaining == 0) {
            Py_ssize_t count = PyList_GET_SIZE(methods);
            PyObject *done = count ? PyObject_CallMethodOneArg(self->awaiting, str_extend, methods)
                                   : Py_NewRef(Py_None);
            Py_DECREF(methods);
            if (done == NULL)
                return NULL;
            Py_DECREF(done);
            return PyLong_FromSsize_t(count);
        }
        Py_DECREF(methods);
        if (end < 0)
            return NULL;
    }
    return PyObject_CallMethodOneArg(self->followers[0], str_feed, data);
}

/* Follower.replies, but for the errors it may raise. */
static PyObject *
follow_replies(Follower *self, PyObject *data)
{
    if (check_initialised(self->awaiting) < 0)
        return NULL;
    int fast = may_skim(self, 1, data);
    if (fast < 0)
        return NULL;
    if (fast) {
        Py_ssize_t size = PyBytes_GET_SIZE(data), count;
        long long remaining;
        Py_ssize_t end = scan_responses(PyBytes_AS_STRING(data), size, 0, self->limit,
                                        self->awaiting, &count, &remaining);
        if (end < 0)
            return NULL;
        if (end == size && remaining == 0) {
            for (Py_ssize_t i = 0; i < count; i++) {
                PyObject *method = PyObject_CallMethodNoArgs(self->awaiting, str_popleft);
                if (method == NULL)
                    return NULL;
                Py_DECREF(method);
            }
            Py_RETURN_NONE;
        }
    }
    PyObject *count = PyObject_CallMethodOneArg(self->followers[1], str_feed, data);
    if (count == NULL)
        return NULL;
    Py_DECREF(count);
    Py_RETURN_NONE;
}

static PyObject *
Follower_requests(Follower *self, PyObject *data)
{
    PyObject *counted = follow_requests(self, data);
    return counted != NULL ? counted : framing_error();
}

static PyObject *
Follower_replies(Follower *self, PyObject *data)
{
    PyObject *done = follow_replies(self, data);
    return done != NULL ? done : framing_error();
}

static PyMethodDef Follower_methods[] = {
    {"requests", (PyCFunction)Follower_requests, METH_O,
     "requests(data) -> count: as SkimmingHttpFraming.skim_requests"},
    {"replies", (PyCFunction)Follower_replies, METH_O,
     "replies(data) -> None: as SkimmingHttpFraming.skim_replies"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject FollowerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "vaurien.protocols.http._skim.Follower",
    .tp_basicsize = sizeof(Follower),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Follower(request_follower, response_follower, awaiting, limit)",
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Follower_init,
    .tp_dealloc = (destructor)Follower_dealloc,
    .tp_methods = Follower_methods,
};

static PyMethodDef methods[] = {
    {"skim_requests", skim_requests, METH_VARARGS,
     "skim_requests(data, pos, limit) -> (end, methods, remaining)"},
    {"skim_responses", skim_responses, METH_VARARGS,
     "skim_responses(data, pos, limit, awaiting) -> (end, count, remaining)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "vaurien.protocols.http._skim",
    "The fast way through common HTTP/1.x messages for vaurien.protocols.http.skim.",
    -1, methods,
};

PyMODINIT_FUNC
PyInit__skim(void)
{
    str_plain = PyUnicode_InternFromString("plain");
    str_feed = PyUnicode_InternFromString("feed");
    str_extend = PyUnicode_InternFromString("extend");
    str_popleft = PyUnicode_InternFromString("popleft");
    if (str_plain == NULL || str_feed == NULL || str_extend == NULL || str_popleft == NULL
        || PyType_Ready(&FollowerType) < 0)
        return NULL;
    PyObject *mod = PyModule_Create(&module);
    if (mod == NULL)
        return NULL;
    if (PyModule_AddObjectRef(mod, "Follower", (PyObject *)&FollowerType) < 0) {
        Py_DECREF(mod);
        return NULL;
    }
    return mod;
}
