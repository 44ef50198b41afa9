/* Event: one delivered record and the schema that decodes it. The 128-byte record is kept as is and
 * decoded on attribute access, so a consumer that filters or counts pays for no dict or string it
 * does not read. Lost: a loss notice (lapped or abandoned positions), yielded in the stream. */
#include "evpy.h" /* Python.h first, as the C API requires */

#include <string.h>
#include <time.h>

PyTypeObject *Evpy_LostType;

static const struct evpy_type *type_of(const EventObject *e)
{
	return &e->schema->types[e->rec.type]; /* the consumer validated the record against this schema */
}

/* Bytes that are not valid UTF-8 become U+FFFD, as in the C JSON decoder. */
static PyObject *str_at(const char *p, size_t size)
{
	return PyUnicode_DecodeUTF8(p, (Py_ssize_t)strnlen(p, size), "replace");
}

static PyObject *field_value(const struct evpy_field *f, const struct evr_record *r)
{
	unsigned version = evr_record_version(r);
	if (version && f->since > version)
		Py_RETURN_NONE; /* written by a producer whose table predates the field */
	const char *p = (const char *)r + f->offset;
	union { uint8_t u8; uint16_t u16; uint32_t u32; uint64_t u64; int8_t i8; int16_t i16; int32_t i32; int64_t i64; } v;
	switch (f->kind) {
	case EVR_FIELD_STR: return str_at(p, f->size);
	case EVR_FIELD_U8: memcpy(&v.u8, p, 1); return PyLong_FromUnsignedLong(v.u8);
	case EVR_FIELD_U16: memcpy(&v.u16, p, 2); return PyLong_FromUnsignedLong(v.u16);
	case EVR_FIELD_U32: memcpy(&v.u32, p, 4); return PyLong_FromUnsignedLong(v.u32);
	case EVR_FIELD_U64: memcpy(&v.u64, p, 8); return PyLong_FromUnsignedLongLong(v.u64);
	case EVR_FIELD_I8: memcpy(&v.i8, p, 1); return PyLong_FromLong(v.i8);
	case EVR_FIELD_I16: memcpy(&v.i16, p, 2); return PyLong_FromLong(v.i16);
	case EVR_FIELD_I32: memcpy(&v.i32, p, 4); return PyLong_FromLong(v.i32);
	default: memcpy(&v.i64, p, 8); return PyLong_FromLongLong(v.i64);
	}
}

PyObject *evpy_event_new(SchemaObject *s, const struct evr_record *r)
{
	EventObject *e = PyObject_New(EventObject, &Evpy_EventType);
	if (!e)
		return NULL;
	Py_INCREF(s);
	e->schema = s;
	memcpy(&e->rec, r, sizeof *r);
	return (PyObject *)e;
}

static void event_dealloc(EventObject *e)
{
	Py_DECREF(e->schema);
	PyObject_Free(e);
}

/* Fields first (compared by identity: attribute names in code are interned), then the class's. */
static PyObject *event_getattro(EventObject *e, PyObject *name)
{
	const struct evpy_type *t = type_of(e);
	for (unsigned j = 0; j < t->nfields; j++)
		if (t->fields[j].name == name)
			return field_value(&t->fields[j], &e->rec);
	PyObject *v = PyObject_GenericGetAttr((PyObject *)e, name);
	if (v || !PyErr_ExceptionMatches(PyExc_AttributeError))
		return v;
	for (unsigned j = 0; j < t->nfields; j++)
		if (PyUnicode_Check(name) && PyUnicode_Compare(t->fields[j].name, name) == 0) {
			PyErr_Clear();
			return field_value(&t->fields[j], &e->rec);
		}
	return NULL;
}

/* An evring.Time (evring/_time.py): a UTC datetime that keeps the nanoseconds. Made only when
 * .time is read, so the class's import is looked up once, on first use. */
static PyObject *time_of(uint64_t ns)
{
	static PyObject *from_ns;
	if (!from_ns) {
		PyObject *mod = PyImport_ImportModule("evring._time");
		PyObject *cls = mod ? PyObject_GetAttrString(mod, "Time") : NULL;
		from_ns = cls ? PyObject_GetAttrString(cls, "from_ns") : NULL;
		Py_XDECREF(cls);
		Py_XDECREF(mod);
		if (!from_ns)
			return NULL;
	}
	PyObject *n = PyLong_FromUnsignedLongLong(ns);
	PyObject *t = n ? PyObject_CallOneArg(from_ns, n) : NULL;
	Py_XDECREF(n);
	return t;
}

/* The same ISO text as the C JSON decoder: nanoseconds kept. */
static PyObject *iso_of(uint64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000u);
	struct tm tm;
	char buf[48], date[32];
	gmtime_r(&sec, &tm);
	strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, sizeof buf, "%s.%09lluZ", date, (unsigned long long)(ns % 1000000000u));
	return PyUnicode_FromString(buf);
}

static PyObject *ev_type(EventObject *e, void *c) { (void)c; return Py_NewRef(type_of(e)->name); }
static PyObject *ev_domain(EventObject *e, void *c) { (void)c; return Py_NewRef(type_of(e)->domain); }
static PyObject *ev_seq(EventObject *e, void *c) { (void)c; return PyLong_FromUnsignedLongLong(e->rec.seq); }
static PyObject *ev_ts(EventObject *e, void *c) { (void)c; return PyLong_FromUnsignedLongLong(e->rec.ts); }
static PyObject *ev_time(EventObject *e, void *c) { (void)c; return time_of(e->rec.ts); }
static PyObject *ev_lane(EventObject *e, void *c) { (void)c; return PyLong_FromLong(e->rec.lane); }
static PyObject *ev_producer(EventObject *e, void *c) { (void)c; return PyLong_FromLong(e->rec.producer_id); }
static PyObject *ev_corr(EventObject *e, void *c) { (void)c; return PyLong_FromUnsignedLongLong(e->rec.correlation_id); }
static PyObject *ev_plan(EventObject *e, void *c) { (void)c; return PyLong_FromUnsignedLongLong(e->rec.plan_id); }
static PyObject *ev_flags(EventObject *e, void *c) { (void)c; return PyLong_FromLong(e->rec.flags); }
static PyObject *ev_trunc(EventObject *e, void *c) { (void)c; return PyBool_FromLong(e->rec.flags & EVR_REC_TRUNCATED); }
static PyObject *ev_replayed(EventObject *e, void *c) { (void)c; return PyBool_FromLong(e->rec.flags & EVR_REC_REPLAYED); }
static PyObject *ev_fields(EventObject *e, void *c) { (void)c; return Py_NewRef(type_of(e)->field_names); }
static PyObject *ev_details(EventObject *e, void *c)
{
	(void)c;
	const struct evpy_type *t = type_of(e);
	return str_at((const char *)&e->rec + t->details_offset, t->details_size);
}

static PyGetSetDef event_getset[] = {
	{"type", (getter)ev_type, NULL, "The event type's name, e.g. 'tool_retried'.", NULL},
	{"domain", (getter)ev_domain, NULL, "The type's domain, e.g. 'tool'.", NULL},
	{"seq", (getter)ev_seq, NULL, "Position of the record in its lane.", NULL},
	{"ts_ns", (getter)ev_ts, NULL, "Wall-clock time in ns since the epoch (exact).", NULL},
	{"time", (getter)ev_time, NULL, "Wall-clock time as an evring.Time: a UTC datetime that keeps the ns (.ns, .nanosecond).", NULL},
	{"lane", (getter)ev_lane, NULL, "The lane the record was written to.", NULL},
	{"producer_id", (getter)ev_producer, NULL, "Index of the producer in the ring's producer table.", NULL},
	{"correlation_id", (getter)ev_corr, NULL, "Header correlation id.", NULL},
	{"plan_id", (getter)ev_plan, NULL, "Header plan id.", NULL},
	{"flags", (getter)ev_flags, NULL, "Record flags (EVR_REC_*).", NULL},
	{"truncated", (getter)ev_trunc, NULL, "True when a string or the details were cut to fit.", NULL},
	{"replayed", (getter)ev_replayed, NULL, "True when re-emitted from a record log or a bridge.", NULL},
	{"details", (getter)ev_details, NULL, "The free-text details.", NULL},
	{"fields", (getter)ev_fields, NULL, "Names of the type's own fields, in layout order.", NULL},
	{NULL, NULL, NULL, NULL, NULL},
};

static int set_item(PyObject *d, const char *k, PyObject *v)
{
	int rc = v ? PyDict_SetItemString(d, k, v) : -1;
	Py_XDECREF(v);
	return rc;
}

/* Keys and order of the C JSON decoder (evr_desc_record_to_json), so both compare as dicts. */
static PyObject *event_to_dict(EventObject *e, PyObject *unused)
{
	(void)unused;
	const struct evpy_type *t = type_of(e);
	const struct evr_record *r = &e->rec;
	PyObject *d = PyDict_New();
	if (!d || set_item(d, "type", Py_NewRef(t->name)) || set_item(d, "domain", Py_NewRef(t->domain)) ||
	    set_item(d, "seq", PyLong_FromUnsignedLongLong(r->seq)) || set_item(d, "ts", PyLong_FromUnsignedLongLong(r->ts)) ||
	    set_item(d, "time", iso_of(r->ts)) || set_item(d, "lane", PyLong_FromLong(r->lane)) ||
	    set_item(d, "producer", PyLong_FromLong(r->producer_id)) ||
	    set_item(d, "correlation_id", PyLong_FromUnsignedLongLong(r->correlation_id)) ||
	    set_item(d, "plan_id", PyLong_FromUnsignedLongLong(r->plan_id)) ||
	    set_item(d, "truncated", PyBool_FromLong(r->flags & EVR_REC_TRUNCATED)) ||
	    set_item(d, "replayed", PyBool_FromLong(r->flags & EVR_REC_REPLAYED)))
		goto fail;
	for (unsigned j = 0; j < t->nfields; j++) {
		PyObject *v = field_value(&t->fields[j], r);
		if (!v || PyDict_SetItem(d, t->fields[j].name, v) < 0) {
			Py_XDECREF(v);
			goto fail;
		}
		Py_DECREF(v);
	}
	if (set_item(d, "details", ev_details(e, NULL)) == 0)
		return d;
fail:
	Py_XDECREF(d);
	return NULL;
}

static PyObject *event_repr(EventObject *e)
{
	PyObject *d = event_to_dict(e, NULL);
	PyObject *r = d ? PyUnicode_FromFormat("<evring.Event %R>", d) : NULL;
	Py_XDECREF(d);
	return r;
}

static PyObject *event_dir(EventObject *e, PyObject *unused)
{
	(void)unused;
	PyObject *base = PyObject_Dir((PyObject *)Py_TYPE(e));
	PyObject *fields = base ? PySequence_List(type_of(e)->field_names) : NULL;
	PyObject *all = fields ? PySequence_InPlaceConcat(fields, base) : NULL;
	Py_XDECREF(base);
	Py_XDECREF(fields);
	return all;
}

static PyMethodDef event_methods[] = {
	{"to_dict", (PyCFunction)event_to_dict, METH_NOARGS,
	 "to_dict() -> dict\n\nThe record as a dict with the keys of `evring tail --json`: type, domain, seq, ts, "
	 "time (ISO 8601, ns), lane, producer, correlation_id, plan_id, truncated, replayed, the type's fields, "
	 "details."},
	{"__dir__", (PyCFunction)event_dir, METH_NOARGS, NULL},
	{NULL, NULL, 0, NULL},
};

PyTypeObject Evpy_EventType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "evring.Event",
	.tp_basicsize = sizeof(EventObject),
	.tp_dealloc = (destructor)event_dealloc,
	.tp_getattro = (getattrofunc)event_getattro,
	.tp_repr = (reprfunc)event_repr,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "One event read from a ring: header attributes, the type's fields as attributes "
		  "(ev.tool, ev.attempt), .time (evring.Time: a UTC datetime keeping the ns), .ts_ns (exact ns) and .to_dict().",
	.tp_methods = event_methods,
	.tp_getset = event_getset,
};

static PyStructSequence_Field lost_fields[] = {
	{"reason", "'lapped' (overwritten before it was read) or 'abandoned' (claimed, never published)"},
	{"lane", "the lane"},
	{"pos", "the first lost position in the lane"},
	{"count", "how many positions were lost"},
	{NULL, NULL},
};

static PyStructSequence_Desc lost_desc = {
	"evring.Lost",
	"A loss notice in a consumer's stream: `count` positions of `lane` from `pos` were not delivered.",
	lost_fields, 4,
};

PyObject *evpy_lost_new(const struct evr_item *it)
{
	PyObject *l = PyStructSequence_New(Evpy_LostType);
	if (!l)
		return NULL;
	PyObject *reason = it->kind == EVR_ITEM_LOST_LAPPED ? evpy_s_lapped : evpy_s_abandoned;
	PyStructSequence_SET_ITEM(l, 0, Py_NewRef(reason));
	PyStructSequence_SET_ITEM(l, 1, PyLong_FromLong(it->lane));
	PyStructSequence_SET_ITEM(l, 2, PyLong_FromUnsignedLongLong(it->pos));
	PyStructSequence_SET_ITEM(l, 3, PyLong_FromUnsignedLongLong(it->count));
	if (PyErr_Occurred()) {
		Py_DECREF(l);
		return NULL;
	}
	return l;
}

int evpy_event_types_ready(PyObject *m)
{
	if (PyType_Ready(&Evpy_EventType) < 0 || PyType_Ready(&Evpy_SchemaType) < 0)
		return -1;
	if (!(Evpy_LostType = PyStructSequence_NewType(&lost_desc)))
		return -1;
	return PyModule_AddObjectRef(m, "Event", (PyObject *)&Evpy_EventType) < 0 ||
			       PyModule_AddObjectRef(m, "Lost", (PyObject *)Evpy_LostType) < 0
		       ? -1
		       : 0;
}
