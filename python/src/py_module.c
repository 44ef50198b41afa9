/* The _evring module: evring.Error, Ring (open, create, unlink) and the module's functions.
 *
 * A Ring holds a read-only mapping from the start (consumers read it; its validated description
 * becomes the Schema) and opens a read-write mapping with the first producer, with the ring's own
 * description as this process's table (evr_ring_open_schema): records are then written in the
 * ring's layout whatever table libevring was built with, and no adaptation path is taken. */
#include <evring/platform.h>

#include "evpy.h"

PyObject *Evpy_Error;
PyObject *evpy_s_correlation_id, *evpy_s_plan_id, *evpy_s_details, *evpy_s_lapped, *evpy_s_abandoned;

PyObject *evpy_raise(int rc, const struct evr_err *err)
{
	const char *why = err && err->msg[0] ? err->msg : evr_strerror(rc);
	PyObject *args = Py_BuildValue("(is)", -rc, why);
	if (args) {
		PyErr_SetObject(Evpy_Error, args);
		Py_DECREF(args);
	}
	return NULL;
}

static RingObject *ring_wrap(struct evr_ring *ro)
{
	RingObject *r = PyObject_New(RingObject, &Evpy_RingType);
	if (!r) {
		evr_ring_close(ro);
		return NULL;
	}
	r->ro = ro;
	r->rw = NULL;
	struct evr_ring_info info;
	evr_ring_get_info(ro, &info);
	r->name = PyUnicode_FromString(info.name);
	r->schema = evpy_schema_new(evr_ring_schema(ro));
	if (!r->name || !r->schema) {
		Py_DECREF(r);
		return NULL;
	}
	return r;
}

static void ring_dealloc(RingObject *r)
{
	if (r->rw)
		evr_ring_close(r->rw);
	if (r->ro)
		evr_ring_close(r->ro);
	Py_XDECREF(r->name);
	Py_XDECREF(r->schema);
	PyObject_Free(r);
}

static PyObject *open_ring(PyObject *name)
{
	struct evr_ring *ro;
	struct evr_err err = { 0 };
	int rc;
	const char *n = PyUnicode_AsUTF8(name);
	if (!n)
		return NULL;
	/* the ring's own description, whatever it is: consumers decode with it */
	Py_BEGIN_ALLOW_THREADS
	rc = evr_ring_open(n, EVR_ROLE_CONSUMER, &ro, &err);
	Py_END_ALLOW_THREADS
	if (rc < 0)
		return evpy_raise(rc, &err);
	return (PyObject *)ring_wrap(ro);
}

static PyObject *mod_open(PyObject *m, PyObject *name)
{
	(void)m;
	if (!PyUnicode_Check(name))
		return PyErr_Format(PyExc_TypeError, "open() takes a ring name (str), not %.100s", Py_TYPE(name)->tp_name);
	return open_ring(name);
}

static PyObject *mod_create(PyObject *m, PyObject *args, PyObject *kw)
{
	(void)m;
	static char *kwlist[] = {"name", "lanes", "slots_per_lane", "max_producers", "mode", "exist_ok", NULL};
	PyObject *name;
	unsigned lanes = 0, slots = 0, producers = 0, mode = 0600;
	int exist_ok = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "U|$IIIIp:create", kwlist, &name, &lanes, &slots, &producers, &mode,
					 &exist_ok))
		return NULL;
	struct evr_ring_opts opts;
	evr_platform_opts(&opts); /* a new ring carries the platform's 38-event schema */
	if (lanes)
		opts.lanes = lanes;
	if (slots)
		opts.slots_per_lane = slots;
	if (producers)
		opts.max_producers = producers;
	opts.mode = mode;
	struct evr_ring *ring;
	struct evr_err err = { 0 };
	int rc;
	const char *n = PyUnicode_AsUTF8(name);
	if (!n)
		return NULL;
	Py_BEGIN_ALLOW_THREADS
	rc = evr_ring_create(n, &opts, &ring, &err);
	Py_END_ALLOW_THREADS
	if (rc == -EEXIST && exist_ok)
		return open_ring(name);
	if (rc < 0)
		return evpy_raise(rc, &err);
	evr_ring_close(ring); /* the segment stays; it is used through the two mappings of a Ring */
	return open_ring(name);
}

static PyObject *mod_unlink(PyObject *m, PyObject *args, PyObject *kw)
{
	(void)m;
	static char *kwlist[] = {"name", "missing_ok", NULL};
	const char *name;
	int missing_ok = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "s|$p:unlink", kwlist, &name, &missing_ok))
		return NULL;
	struct evr_err err = { 0 };
	int rc = evr_ring_unlink(name, &err);
	if (rc < 0 && !(rc == -ENOENT && missing_ok))
		return evpy_raise(rc, &err);
	Py_RETURN_NONE;
}

static PyObject *ring_producer(RingObject *r, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"service", NULL};
	const char *service;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "s:producer", kwlist, &service))
		return NULL;
	if (!r->rw) {
		struct evr_err err = { 0 };
		const char *n = PyUnicode_AsUTF8(r->name);
		int rc = evr_ring_open_schema(n, EVR_ROLE_PRODUCER, r->schema->desc, &r->rw, &err);
		if (rc < 0) {
			r->rw = NULL;
			return evpy_raise(rc, &err);
		}
	}
	return evpy_producer_new(r, service);
}

static PyObject *ring_consume(RingObject *r, PyObject *args, PyObject *kw)
{
	return evpy_consumer_new(r, args, kw);
}

/* The asyncio form lives in Python (evring/_aio.py); the method is here so it is one of the Ring's. */
static PyObject *ring_aconsume(RingObject *r, PyObject *args, PyObject *kw)
{
	PyObject *mod = PyImport_ImportModule("evring._aio");
	PyObject *fn = mod ? PyObject_GetAttrString(mod, "aconsume") : NULL;
	Py_XDECREF(mod);
	if (!fn)
		return NULL;
	PyObject *all = PyTuple_New(PyTuple_GET_SIZE(args) + 1);
	if (all) {
		PyTuple_SET_ITEM(all, 0, Py_NewRef(r));
		for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(args); i++)
			PyTuple_SET_ITEM(all, i + 1, Py_NewRef(PyTuple_GET_ITEM(args, i)));
	}
	PyObject *out = all ? PyObject_Call(fn, all, kw) : NULL;
	Py_XDECREF(all);
	Py_DECREF(fn);
	return out;
}

static PyObject *ring_info(RingObject *r, PyObject *unused)
{
	(void)unused;
	struct evr_ring_info i;
	evr_ring_get_info(r->ro, &i);
	return Py_BuildValue("{sssIsIsIsIsIsKsKsisK}", "name", i.name, "lanes", i.lanes, "slots_per_lane",
			     i.slots_per_lane, "record_size", i.record_size, "max_producers", i.max_producers,
			     "schema_version", i.schema_version, "schema_hash", (unsigned long long)i.schema_hash,
			     "ring_id", (unsigned long long)i.ring_id, "creator_pid", (int)i.creator_pid,
			     "created_realtime_ns", (unsigned long long)i.created_realtime_ns);
}

/* {type: {"domain", "fields": {name: {"kind", "size", "offset"}}, "details_size"}}: the description. */
static PyObject *ring_schema(RingObject *r, PyObject *unused)
{
	(void)unused;
	SchemaObject *s = r->schema;
	PyObject *out = PyDict_New();
	for (unsigned i = 0; out && i < s->ntypes; i++) {
		const struct evpy_type *t = &s->types[i];
		PyObject *fields = PyDict_New();
		for (unsigned j = 0; fields && j < t->nfields; j++) {
			const struct evpy_field *f = &t->fields[j];
			PyObject *k = Py_BuildValue("{sssIsI}", "kind", evr_field_kind_name(f->kind), "size", (unsigned)f->size,
						    "offset", (unsigned)f->offset);
			if (!k || PyDict_SetItem(fields, f->name, k) < 0)
				Py_CLEAR(fields);
			Py_XDECREF(k);
		}
		PyObject *v = fields ? Py_BuildValue("{sOsOsI}", "domain", t->domain, "fields", fields, "details_size",
						     (unsigned)t->details_size)
				     : NULL;
		Py_XDECREF(fields);
		if (!v || PyDict_SetItem(out, t->name, v) < 0)
			Py_CLEAR(out);
		Py_XDECREF(v);
	}
	return out;
}

static PyObject *ring_get_types(RingObject *r, void *c) { (void)c; return Py_NewRef(r->schema->type_list); }
static PyObject *ring_get_domains(RingObject *r, void *c) { (void)c; return Py_NewRef(r->schema->domains); }
static PyObject *ring_get_name(RingObject *r, void *c) { (void)c; return Py_NewRef(r->name); }

static PyObject *ring_unlink(RingObject *r, PyObject *unused)
{
	(void)unused;
	struct evr_err err = { 0 };
	int rc = evr_ring_unlink(PyUnicode_AsUTF8(r->name), &err);
	if (rc < 0 && rc != -ENOENT)
		return evpy_raise(rc, &err);
	Py_RETURN_NONE;
}

static PyMethodDef ring_methods[] = {
	{"producer", (PyCFunction)(void (*)(void))ring_producer, METH_VARARGS | METH_KEYWORDS,
	 "producer(service) -> Producer\n\nRegister `service` (cut to 27 bytes) in the ring's producer table."},
	{"consume", (PyCFunction)(void (*)(void))ring_consume, METH_VARARGS | METH_KEYWORDS,
	 "consume(start='oldest', *, follow=False, types=None, domains=None, plan_id=None, correlation_id=None, "
	 "timeout=None, merge=False) -> Consumer\n\n"
	 "Iterate Event and Lost items. start: 'oldest', 'latest', a Cursor or a cursor file's path. follow: "
	 "wait for new records (GIL released) instead of ending; timeout: seconds without an item after which "
	 "a follow ends. types/domains: lists of names (a record of either kind is kept); plan_id/correlation_id: "
	 "keep those ids. merge: "
	 "deliver across lanes in timestamp order. Loss notices are never filtered."},
	{"aconsume", (PyCFunction)(void (*)(void))ring_aconsume, METH_VARARGS | METH_KEYWORDS,
	 "aconsume(start='oldest', *, follow=True, timeout=None, types=..., domains=..., plan_id=..., "
	 "correlation_id=..., merge=False) -> async iterator\n\n"
	 "consume() for asyncio: `async for item in ring.aconsume(...)`. The waits run on a private thread "
	 "that wakes the event loop; the loop never blocks."},
	{"info", (PyCFunction)ring_info, METH_NOARGS, "info() -> dict\n\nThe ring's layout and identity."},
	{"schema", (PyCFunction)ring_schema, METH_NOARGS,
	 "schema() -> dict\n\n{type: {'domain', 'fields': {name: {'kind', 'size', 'offset'}}, 'details_size'}}, "
	 "from the ring's own description, in type id and field order."},
	{"unlink", (PyCFunction)ring_unlink, METH_NOARGS,
	 "unlink()\n\nRemove the ring's name (mappings stay usable until released)."},
	{NULL, NULL, 0, NULL},
};

static PyGetSetDef ring_getset[] = {
	{"name", (getter)ring_get_name, NULL, "The ring's name, normalized ('/events').", NULL},
	{"types", (getter)ring_get_types, NULL, "The ring's event type names, by id.", NULL},
	{"domains", (getter)ring_get_domains, NULL, "The ring's domain names.", NULL},
	{NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject Evpy_RingType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "evring.Ring",
	.tp_basicsize = sizeof(RingObject),
	.tp_dealloc = (destructor)ring_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "An evring ring in POSIX shared memory: evring.open(name) or evring.create(name). Its mappings "
		  "are released with the last reference (its producers and consumers hold one); the ring itself "
		  "stays until unlink().",
	.tp_methods = ring_methods,
	.tp_getset = ring_getset,
};

static PyMethodDef module_methods[] = {
	{"open", (PyCFunction)mod_open, METH_O,
	 "open(name) -> Ring\n\nOpen an existing ring; its own description gives the types and fields."},
	{"create", (PyCFunction)(void (*)(void))mod_create, METH_VARARGS | METH_KEYWORDS,
	 "create(name, *, lanes=0, slots_per_lane=0, max_producers=0, mode=0o600, exist_ok=False) -> Ring\n\n"
	 "Create a ring carrying the platform's 38-event schema (0: the defaults: one lane per CPU, 4096 slots). "
	 "exist_ok: open it when it exists."},
	{"unlink", (PyCFunction)(void (*)(void))mod_unlink, METH_VARARGS | METH_KEYWORDS,
	 "unlink(name, *, missing_ok=False)\n\nRemove a ring and its companion objects."},
	{NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
	PyModuleDef_HEAD_INIT, "_evring", "evring: the C core of the Python binding (use the evring package).", -1,
	module_methods, NULL, NULL, NULL, NULL,
};

static int intern(PyObject **out, const char *s)
{
	return (*out = PyUnicode_InternFromString(s)) ? 0 : -1;
}

PyMODINIT_FUNC PyInit__evring(void)
{
	PyObject *m = PyModule_Create(&module);
	if (!m)
		return NULL;
	if (intern(&evpy_s_correlation_id, "correlation_id") || intern(&evpy_s_plan_id, "plan_id") ||
	    intern(&evpy_s_details, "details") || intern(&evpy_s_lapped, "lapped") ||
	    intern(&evpy_s_abandoned, "abandoned"))
		goto fail;
	if (!(Evpy_Error = PyErr_NewExceptionWithDoc("evring.Error", "A libevring call failed: (errno, message).",
						       PyExc_OSError, NULL)) ||
	    PyModule_AddObjectRef(m, "Error", Evpy_Error) < 0)
		goto fail;
	if (PyType_Ready(&Evpy_RingType) < 0 || PyType_Ready(&Evpy_ProducerType) < 0 ||
	    PyModule_AddObjectRef(m, "Ring", (PyObject *)&Evpy_RingType) < 0 ||
	    PyModule_AddObjectRef(m, "Producer", (PyObject *)&Evpy_ProducerType) < 0 ||
	    evpy_event_types_ready(m) < 0 || evpy_consumer_types_ready(m) < 0)
		goto fail;
	return m;
fail:
	Py_DECREF(m);
	return NULL;
}
