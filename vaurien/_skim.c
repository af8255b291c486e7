/* vaurien._skim: C versions of the RESP skimmers of vaurien.protocols.resp_scan.
 *
 * skim_commands and skim_plain_replies follow whole, plain RESP frames at
 * the start of a buffer without cutting them out, exactly as the Python
 * functions of the same names do (tests/test_resp_skim.py holds the two
 * to the same answers). The build is optional: without a compiler the
 * Python versions run.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

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

static const char *const WATCHED[] = {
    "CLIENT", "MONITOR", "SUBSCRIBE", "PSUBSCRIBE", "SSUBSCRIBE", NULL
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

static PyObject *
skim_commands(PyObject *module, PyObject *args)
{
    Py_buffer view;
    long long max_elements, max_bulk, max_inline;
    Py_ssize_t size, pos = 0, count = 0, at, eol, end, limit;
    long long elements, length, index;
    const char *data;

    if (!PyArg_ParseTuple(args, "y*LLL", &view, &max_elements, &max_bulk, &max_inline))
        return NULL;
    data = view.buf;
    size = view.len;
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
            if (length < 0 || length > max_bulk)
                goto done;
            end = eol + 2 + (Py_ssize_t)length;
            if (end + 2 > size || data[end] != '\r' || data[end + 1] != '\n')
                goto done;
            if (index == 0 && is_watched(data, eol + 2, (Py_ssize_t)length))
                goto done;
            at = end + 2;
        }
        pos = at;
        count++;
    }
done:
    PyBuffer_Release(&view);
    return Py_BuildValue("nn", pos, count);
}

static PyObject *
skim_plain_replies(PyObject *module, PyObject *args)
{
    Py_buffer view;
    long long max_bulk, max_line, length;
    Py_ssize_t size, pos = 0, count = 0, eol, end, limit;
    const char *data;
    char kind;

    if (!PyArg_ParseTuple(args, "y*LL", &view, &max_bulk, &max_line))
        return NULL;
    data = view.buf;
    size = view.len;
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
                if (length < 0 || length > max_bulk)
                    break;
                end = eol + 2 + (Py_ssize_t)length;
                if (end + 2 > size || data[end] != '\r' || data[end + 1] != '\n')
                    break;
                pos = end + 2;
            }
        } else if (kind == '+' || kind == '-' || kind == ':') {
            limit = (Py_ssize_t)max_line + 3 < size - pos ? pos + (Py_ssize_t)max_line + 3 : size;
            eol = find_crlf(data, pos + 1, limit);
            if (eol < 0)
                break;
            pos = eol + 2;
        } else {
            break;
        }
        count++;
    }
    PyBuffer_Release(&view);
    return Py_BuildValue("nn", pos, count);
}

static PyMethodDef methods[] = {
    {"skim_commands", skim_commands, METH_VARARGS,
     "skim_commands(data, max_elements, max_bulk, max_inline) -> (end, count)"},
    {"skim_plain_replies", skim_plain_replies, METH_VARARGS,
     "skim_plain_replies(data, max_bulk, max_line) -> (end, count)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "vaurien._skim",
    "C versions of the RESP skimmers of vaurien.protocols.resp_scan.", -1, methods,
};

PyMODINIT_FUNC
PyInit__skim(void)
{
    return PyModule_Create(&module);
}
