/* Producer: a registration in the ring's producer table and the typed emit.
 *
 * emit() builds the record in a struct evr_record on the C stack from the ring's description: the
 * type by a dict lookup, each keyword by identity against the type's interned field names (keywords
 * at a call site are interned), integers range-checked for their kind, strings copied from the
 * UTF-8 CPython caches on the str and cut at a UTF-8 boundary with EVR_REC_TRUNCATED, as
 * evr_record_set_str does in C. It allocates nothing for ASCII strings and keeps the GIL: the emit
 * itself is a few tens of ns and never waits; holding the GIL is also what serializes threads that
 * share one producer (an evr_producer is for one thread at a time). A drop (-EAGAIN, or -EFAULT on a truncated segment)
 * returns False and is counted in the producer table, never raised. */
#include "evpy.h" /* Python.h first, as the C API requires */

#include <string.h>

typedef struct {
	PyObject_HEAD
	RingObject *ring;
	SchemaObject *schema;
	struct evr_producer *p;
} ProducerObject;

PyObject *evpy_producer_new(RingObject *ring, const char *service)
{
	struct evr_producer *p;
	struct evr_err err = { 0 };
	int rc = evr_producer_open(ring->rw, service, &p, &err);
	if (rc < 0)
		return evpy_raise(rc, &err);
	ProducerObject *o = PyObject_New(ProducerObject, &Evpy_ProducerType);
	if (!o) {
		evr_producer_close(p);
		return NULL;
	}
	Py_INCREF(ring);
	Py_INCREF(ring->schema);
	o->ring = ring;
	o->schema = ring->schema;
	o->p = p;
	return (PyObject *)o;
}

static void producer_dealloc(ProducerObject *o)
{
	if (o->p)
		evr_producer_close(o->p);
	Py_DECREF(o->schema);
	Py_DECREF(o->ring);
	PyObject_Free(o);
}

static int set_int(char *dst, const struct evpy_field *f, PyObject *v, PyObject *type_name)
{
	if (!PyLong_Check(v)) {
		PyErr_Format(PyExc_TypeError, "%U.%U must be an int, not %.100s", type_name, f->name, Py_TYPE(v)->tp_name);
		return -1;
	}
	bool is_signed = f->kind >= EVR_FIELD_I8;
	unsigned bits = 8u * f->size;
	if (is_signed) {
		int overflow;
		long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
		long long lim = bits == 64 ? 0 : 1ll << (bits - 1);
		if (overflow || (bits < 64 && (x < -lim || x >= lim)))
			goto range;
		if (x == -1 && PyErr_Occurred())
			return -1;
		uint64_t u = (uint64_t)x; /* two's complement: the low `size` bytes on little-endian */
		memcpy(dst, &u, f->size);
		return 0;
	}
	unsigned long long x = PyLong_AsUnsignedLongLong(v);
	if (x == (unsigned long long)-1 && PyErr_Occurred()) {
		if (!PyErr_ExceptionMatches(PyExc_OverflowError))
			return -1;
		PyErr_Clear();
		goto range;
	}
	if (bits < 64 && x >> bits)
		goto range;
	memcpy(dst, &x, f->size);
	return 0;
range:
	PyErr_Format(PyExc_ValueError, "%U.%U: %R is out of range for %s", type_name, f->name, v,
		     evr_field_kind_name(f->kind));
	return -1;
}

/* Copy a str into a NUL-padded field of `size` bytes; cut at a UTF-8 boundary and flag when it
 * does not fit (what evr_record_set_str does, on the description's offsets). */
static int set_str(struct evr_record *r, char *dst, size_t size, PyObject *v, PyObject *type_name, PyObject *name)
{
	if (!PyUnicode_Check(v)) {
		PyErr_Format(PyExc_TypeError, "%U.%U must be a str, not %.100s", type_name, name, Py_TYPE(v)->tp_name);
		return -1;
	}
	Py_ssize_t len;
	const char *s = PyUnicode_AsUTF8AndSize(v, &len);
	if (!s)
		return -1;
	size_t n = strnlen(s, (size_t)len); /* C strings end at a NUL, as in evr_record_set_str */
	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--; /* do not cut a UTF-8 sequence in half */
		r->flags |= EVR_REC_TRUNCATED;
	}
	memcpy(dst, s, n); /* the rest of the field is already zero */
	return 0;
}

static int set_header(uint64_t *dst, PyObject *v, PyObject *name)
{
	if (!PyLong_Check(v)) {
		PyErr_Format(PyExc_TypeError, "%U must be an int, not %.100s", name, Py_TYPE(v)->tp_name);
		return -1;
	}
	unsigned long long x = PyLong_AsUnsignedLongLong(v);
	if (x == (unsigned long long)-1 && PyErr_Occurred()) {
		PyErr_Clear();
		PyErr_Format(PyExc_ValueError, "%U: %R is out of range for u64", name, v);
		return -1;
	}
	*dst = x;
	return 0;
}

static const struct evpy_field *find_field(const struct evpy_type *t, PyObject *key)
{
	for (unsigned j = 0; j < t->nfields; j++)
		if (t->fields[j].name == key)
			return &t->fields[j];
	for (unsigned j = 0; j < t->nfields; j++)
		if (PyUnicode_Compare(t->fields[j].name, key) == 0)
			return &t->fields[j];
	return NULL;
}

static int unknown_field(const struct evpy_type *t, PyObject *key)
{
	PyObject *valid = evpy_join(t->field_names);
	if (valid)
		PyErr_Format(PyExc_TypeError, "%U has no field %R; its fields: %U (and correlation_id, plan_id, details)",
			     t->name, key, valid);
	Py_XDECREF(valid);
	return -1;
}

static int set_key(struct evr_record *r, const struct evpy_type *t, PyObject *key, PyObject *v)
{
	if (key == evpy_s_correlation_id)
		return set_header(&r->correlation_id, v, key);
	if (key == evpy_s_plan_id)
		return set_header(&r->plan_id, v, key);
	if (key == evpy_s_details)
		return set_str(r, (char *)r + t->details_offset, t->details_size, v, t->name, key);
	const struct evpy_field *f = find_field(t, key);
	if (f)
		return f->kind == EVR_FIELD_STR ? set_str(r, (char *)r + f->offset, f->size, v, t->name, key)
						: set_int((char *)r + f->offset, f, v, t->name);
	/* a keyword built at run time (**kwargs from a dict) need not be interned */
	if (PyUnicode_Compare(key, evpy_s_correlation_id) == 0)
		return set_header(&r->correlation_id, v, key);
	if (PyUnicode_Compare(key, evpy_s_plan_id) == 0)
		return set_header(&r->plan_id, v, key);
	if (PyUnicode_Compare(key, evpy_s_details) == 0)
		return set_str(r, (char *)r + t->details_offset, t->details_size, v, t->name, key);
	return unknown_field(t, key);
}

static PyObject *producer_emit(ProducerObject *o, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
	if (nargs != 1)
		return PyErr_Format(PyExc_TypeError, "emit() takes the event type and keyword fields (%zd positional given)",
				    nargs);
	if (!o->p)
		return PyErr_Format(PyExc_ValueError, "emit() on a closed producer");
	int type = evpy_schema_type_id(o->schema, args[0]);
	if (type < 0)
		return NULL;
	const struct evpy_type *t = &o->schema->types[type];
	struct evr_record r;
	memset(&r, 0, sizeof r);
	r.type = (uint16_t)type;
	Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
	for (Py_ssize_t i = 0; i < nkw; i++)
		if (set_key(&r, t, PyTuple_GET_ITEM(kwnames, i), args[nargs + i]) < 0)
			return NULL;
	int rc = evr_emit(o->p, &r);
	if (rc == 0)
		Py_RETURN_TRUE;
	if (rc == -EAGAIN || rc == -EFAULT)
		Py_RETURN_FALSE; /* dropped, and counted in this producer's table entry */
	return evpy_raise(rc, NULL);
}

static PyObject *producer_counters(ProducerObject *o, PyObject *unused)
{
	(void)unused;
	uint64_t emitted = 0, dropped = 0;
	if (o->p)
		evr_producer_counters(o->p, &emitted, &dropped);
	return Py_BuildValue("{sKsK}", "emitted", (unsigned long long)emitted, "dropped", (unsigned long long)dropped);
}

static PyObject *producer_close(ProducerObject *o, PyObject *unused)
{
	(void)unused;
	if (o->p)
		evr_producer_close(o->p);
	o->p = NULL;
	Py_RETURN_NONE;
}

static PyObject *producer_enter(PyObject *o, PyObject *unused)
{
	(void)unused;
	return Py_NewRef(o);
}

static PyObject *producer_exit(ProducerObject *o, PyObject *args)
{
	(void)args;
	return producer_close(o, NULL);
}

static PyObject *producer_id(ProducerObject *o, void *c)
{
	(void)c;
	if (!o->p)
		Py_RETURN_NONE;
	return PyLong_FromLong(evr_producer_id(o->p));
}

static PyMethodDef producer_methods[] = {
	{"emit", (PyCFunction)(void (*)(void))producer_emit, METH_FASTCALL | METH_KEYWORDS,
	 "emit(type, /, *, correlation_id=0, plan_id=0, details='', **fields) -> bool\n\n"
	 "Emit one event of `type` (a name from the ring's table) with the type's fields as keywords; "
	 "fields left out are zero or empty. Returns True when published, False when dropped (counted in "
	 "the producer table, never raised). A string longer than its field is cut at a UTF-8 boundary and "
	 "the record flagged truncated. Raises ValueError for an unknown type or an int out of range, "
	 "TypeError for an unknown field or a value of the wrong type."},
	{"counters", (PyCFunction)producer_counters, METH_NOARGS,
	 "counters() -> dict\n\n{'emitted': n, 'dropped': n}: what this producer published and dropped."},
	{"close", (PyCFunction)producer_close, METH_NOARGS,
	 "close()\n\nUnregister from the ring's producer table; emit() then raises ValueError."},
	{"__enter__", producer_enter, METH_NOARGS, NULL},
	{"__exit__", (PyCFunction)producer_exit, METH_VARARGS, NULL},
	{NULL, NULL, 0, NULL},
};

static PyGetSetDef producer_getset[] = {
	{"id", (getter)producer_id, NULL, "Index in the ring's producer table (what records carry as producer_id).", NULL},
	{NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject Evpy_ProducerType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "evring.Producer",
	.tp_basicsize = sizeof(ProducerObject),
	.tp_dealloc = (destructor)producer_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "A service registered in a ring's producer table; made by Ring.producer(service). emit() "
		  "holds the GIL for its whole run, so threads may share a producer (each record then carries "
		  "the same producer_id).",
	.tp_methods = producer_methods,
	.tp_getset = producer_getset,
};
