/* What the C followers of vaurien.protocols.redis._skim and
 * vaurien.protocols.http._skim share:
 * nothing but a FramingError comes out of a follower (as
 * vaurien.protocols.framing.only_framing_errors does in Python), and a
 * Follower made without __init__ refuses to follow. */
#ifndef VAURIEN_FOLLOWER_H
#define VAURIEN_FOLLOWER_H

#include <Python.h>

/* Turn the Exception set, unless a FramingError already, into a
 * FramingError caused by it: the connection only stops being followed.
 * Anything else (KeyboardInterrupt, SystemExit) stays.  Returns NULL. */
static PyObject *
framing_error(void)
{
    static PyObject *framing_error_type;
    if (!PyErr_ExceptionMatches(PyExc_Exception))
        return NULL;
    if (framing_error_type == NULL) {
        PyObject *type, *value, *traceback;
        PyErr_Fetch(&type, &value, &traceback);
        PyObject *framing = PyImport_ImportModule("vaurien.protocols.framing");
        if (framing != NULL) {
            framing_error_type = PyObject_GetAttrString(framing, "FramingError");
            Py_DECREF(framing);
        }
        if (framing_error_type == NULL) {  /* keep the first error */
            Py_XDECREF(type);
            Py_XDECREF(value);
            Py_XDECREF(traceback);
            return NULL;
        }
        PyErr_Restore(type, value, traceback);
    }
    if (PyErr_ExceptionMatches(framing_error_type))
        return NULL;
    PyObject *type, *value, *traceback;
    PyErr_Fetch(&type, &value, &traceback);
    PyErr_NormalizeException(&type, &value, &traceback);
    if (traceback != NULL)
        PyException_SetTraceback(value, traceback);
    PyErr_Format(framing_error_type, "%s: %S", ((PyTypeObject *)type)->tp_name, value);
    PyObject *new_type, *new_value, *new_traceback;
    PyErr_Fetch(&new_type, &new_value, &new_traceback);
    PyErr_NormalizeException(&new_type, &new_value, &new_traceback);
    if (new_value != NULL) {
        Py_INCREF(value);
        PyException_SetCause(new_value, value);  /* steals the reference */
        PyException_SetContext(new_value, value);  /* steals the other */
    } else {
        Py_DECREF(value);
    }
    Py_XDECREF(type);
    Py_XDECREF(traceback);
    PyErr_Restore(new_type, new_value, new_traceback);
    return NULL;
}

/* 0 if `ready` (the follower was initialised), else -1 with an error. */
static int
check_initialised(const void *ready)
{
    if (ready != NULL)
        return 0;
    PyErr_SetString(PyExc_RuntimeError, "Follower.__init__ was not called");
    return -1;
}

#endif
