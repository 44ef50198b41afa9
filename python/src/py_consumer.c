/* Consumer: an iterator over a ring's records and loss notices, and Cursor, a saved position.
 *
 * Items are polled in batches of BATCH (evr_consumer_poll_batch) and handed out one at a time;
 * cursor() and stats() discount what was polled but not handed out yet, so a cursor saved in the
 * middle of a batch resumes at the first item not yielded, and the loss identity holds for what
 * Python saw: yielded + filtered + invalid + lost == cursor - start. Type, domain, plan and
 * correlation filters run here in C, before any object is made.
 *
 * follow=True sleeps in evr_consumer_wait with the GIL released, in slices of at most SLICE_NS so
 * that signals (^C) and close() from another thread are seen. close() while another thread waits
 * only marks the consumer; the waiting thread frees it when it wakes (both run under the GIL). */
#include "evpy.h" /* Python.h first, as the C API requires */

#include <string.h>
#include <time.h>

#define BATCH 32
#define SLICE_NS (100 * 1000 * 1000ll)

typedef struct {
	PyObject_HEAD
	RingObject *ring;
	struct evr_consumer *c;
	struct evr_item items[BATCH];
	int nitems, next;
	bool follow, in_wait, close_pending, filter_types, has_plan, has_corr;
	int64_t timeout_ns; /* follow: stop after this long without an item; < 0: never */
	uint64_t plan_id, corr_id;
	uint8_t want[EVR_DESC_MAX_TYPES];
} ConsumerObject;

static void consumer_free_c(ConsumerObject *o)
{
	if (o->c)
		evr_consumer_close(o->c);
	o->c = NULL;
	o->nitems = o->next = 0;
}

static void consumer_dealloc(ConsumerObject *o)
{
	consumer_free_c(o);
	Py_XDECREF(o->ring);
	PyObject_Free(o);
}

/* Mark the types named in `names` (or of the domains named) in o->want. */
static int want_names(ConsumerObject *o, PyObject *names, bool domains)
{
	SchemaObject *s = o->ring->schema;
	if (PyUnicode_Check(names))
		return PyErr_Format(PyExc_TypeError, "%s must be a list of names, not a str", domains ? "domains" : "types"),
		       -1;
	PyObject *it = PyObject_GetIter(names);
	if (!it)
		return -1;
	PyObject *n;
	while ((n = PyIter_Next(it))) {
		int found = 0;
		for (unsigned i = 0; i < s->ntypes && PyUnicode_Check(n); i++) {
			PyObject *have = domains ? s->types[i].domain : s->types[i].name;
			if (PyUnicode_Compare(have, n) == 0)
				o->want[i] = found = 1;
		}
		if (!found) {
			PyObject *valid = evpy_join(domains ? s->domains : s->type_list);
			if (valid)
				PyErr_Format(PyExc_ValueError, "unknown %s %R; the ring's: %U", domains ? "domain" : "event type",
					     n, valid);
			Py_XDECREF(valid);
		}
		Py_DECREF(n);
		if (!found)
			break;
	}
	Py_DECREF(it);
	o->filter_types = true;
	return PyErr_Occurred() ? -1 : 0;
}

static int opt_u64(PyObject *v, bool *has, uint64_t *out, const char *name)
{
	if (v == Py_None)
		return 0;
	if (!PyLong_Check(v))
		return PyErr_Format(PyExc_TypeError, "%s must be an int or None", name), -1;
	*out = PyLong_AsUnsignedLongLong(v);
	if (*out == (uint64_t)-1 && PyErr_Occurred()) {
		PyErr_Clear();
		return PyErr_Format(PyExc_ValueError, "%s: %R is out of range for u64", name, v), -1;
	}
	*has = true;
	return 0;
}

static int parse_start(PyObject *start, struct evr_consumer_opts *opts, struct evr_cursor *buf)
{
	if (PyUnicode_Check(start) && PyUnicode_CompareWithASCIIString(start, "oldest") == 0) {
		opts->start = EVR_START_OLDEST;
	} else if (PyUnicode_Check(start) && PyUnicode_CompareWithASCIIString(start, "latest") == 0) {
		opts->start = EVR_START_LATEST;
	} else if (PyObject_TypeCheck(start, &Evpy_CursorType)) {
		opts->start = EVR_START_CURSOR;
		opts->cursor = &((CursorObject *)start)->cur;
	} else if (PyObject_HasAttrString(start, "__fspath__")) {
		PyObject *path = PyOS_FSPath(start);
		PyObject *bytes = path ? PyUnicode_Check(path) ? PyUnicode_EncodeFSDefault(path) : Py_NewRef(path) : NULL;
		Py_XDECREF(path);
		if (!bytes)
			return -1;
		int rc = evr_cursor_load(PyBytes_AS_STRING(bytes), buf);
		Py_DECREF(bytes);
		if (rc < 0)
			return evpy_raise(rc, NULL), -1;
		opts->start = EVR_START_CURSOR;
		opts->cursor = buf;
	} else {
		PyErr_Format(PyExc_ValueError, "start must be 'oldest', 'latest', an evring.Cursor or a cursor file's "
					       "path, not %R", start);
		return -1;
	}
	return 0;
}

PyObject *evpy_consumer_new(RingObject *ring, PyObject *args, PyObject *kw)
{
	static char *kwlist[] = {"start", "follow", "types", "domains", "plan_id", "correlation_id", "timeout",
				 "merge", NULL};
	PyObject *start = NULL, *types = Py_None, *domains = Py_None, *plan = Py_None, *corr = Py_None,
		 *timeout = Py_None;
	int follow = 0, merge = 0;
	if (!PyArg_ParseTupleAndKeywords(args, kw, "|O$pOOOOOp:consume", kwlist, &start, &follow, &types, &domains,
					 &plan, &corr, &timeout, &merge))
		return NULL;
	ConsumerObject *o = PyObject_New(ConsumerObject, &Evpy_ConsumerType);
	if (!o)
		return NULL;
	memset((char *)o + sizeof(PyObject), 0, sizeof *o - sizeof(PyObject));
	Py_INCREF(ring);
	o->ring = ring;
	o->follow = follow;
	o->timeout_ns = -1;
	struct evr_consumer_opts opts = { .start = EVR_START_OLDEST, .merge_by_time = merge };
	struct evr_cursor loaded;
	if ((start && parse_start(start, &opts, &loaded) < 0) || (types != Py_None && want_names(o, types, false) < 0) ||
	    (domains != Py_None && want_names(o, domains, true) < 0) || opt_u64(plan, &o->has_plan, &o->plan_id, "plan_id") < 0 ||
	    opt_u64(corr, &o->has_corr, &o->corr_id, "correlation_id") < 0)
		goto fail;
	if (timeout != Py_None) {
		double s = PyFloat_AsDouble(timeout);
		if (s == -1.0 && PyErr_Occurred())
			goto fail;
		o->timeout_ns = s <= 0 ? 0 : (int64_t)(s * 1e9);
	}
	struct evr_err err = { 0 };
	int rc = evr_consumer_open(ring->ro, &opts, &o->c, &err);
	if (rc < 0) {
		evpy_raise(rc, &err);
		goto fail;
	}
	return (PyObject *)o;
fail:
	Py_DECREF(o);
	return NULL;
}

static bool wanted(const ConsumerObject *o, const struct evr_record *r)
{
	return (!o->filter_types || o->want[r->type]) && (!o->has_plan || r->plan_id == o->plan_id) &&
	       (!o->has_corr || r->correlation_id == o->corr_id);
}

/* The next item to hand out, from the batch or a new poll: 1, 0 when none is there, -1 on error. */
static int next_item(ConsumerObject *o, PyObject **out)
{
	for (;;) {
		if (o->next == o->nitems) {
			int n = evr_consumer_poll_batch(o->c, o->items, BATCH);
			if (n < 0) {
				const char *fault = evr_ring_fault(o->ring->ro);
				PyErr_Format(Evpy_Error, "%s", fault ? fault : evr_strerror(n));
				return -1;
			}
			o->nitems = n;
			o->next = 0;
			if (n == 0)
				return 0;
		}
		const struct evr_item *it = &o->items[o->next++];
		if (it->kind == EVR_ITEM_RECORD) {
			if (!wanted(o, &it->rec))
				continue;
			*out = evpy_event_new(o->ring->schema, &it->rec);
		} else if (it->kind == EVR_ITEM_INVALID) {
			continue; /* counted in stats()['invalid'] */
		} else {
			*out = evpy_lost_new(it);
		}
		return *out ? 1 : -1;
	}
}

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* Sleep until something may be there: 1; 0 when timeout_ns passed; -1 on error (a signal's
 * exception, or the consumer closed from another thread, which ends the iteration quietly). */
static int wait_some(ConsumerObject *o, int64_t timeout_ns)
{
	if (o->in_wait)
		return PyErr_SetString(PyExc_RuntimeError, "the consumer is in use by another thread"), -1;
	int64_t deadline = timeout_ns < 0 ? -1 : mono_ns() + timeout_ns;
	for (;;) {
		int64_t slice = SLICE_NS;
		if (deadline >= 0 && deadline - mono_ns() < slice)
			slice = deadline - mono_ns() > 0 ? deadline - mono_ns() : 0;
		int rc;
		o->in_wait = true;
		Py_BEGIN_ALLOW_THREADS
		rc = evr_consumer_wait(o->c, slice);
		Py_END_ALLOW_THREADS
		o->in_wait = false;
		if (o->close_pending) {
			consumer_free_c(o);
			return 0;
		}
		if (PyErr_CheckSignals() < 0)
			return -1;
		if (rc > 0)
			return 1;
		if (deadline >= 0 && mono_ns() >= deadline)
			return 0;
	}
}

static PyObject *consumer_next(ConsumerObject *o)
{
	if (!o->c)
		return NULL;
	if (o->in_wait)
		return PyErr_Format(PyExc_RuntimeError, "the consumer is in use by another thread");
	for (;;) {
		PyObject *item = NULL;
		int rc = next_item(o, &item);
		if (rc != 0)
			return item;
		if (!o->follow)
			return NULL;
		rc = wait_some(o, o->timeout_ns);
		if (rc <= 0 || !o->c)
			return NULL;
	}
}

static PyObject *consumer_wait(ConsumerObject *o, PyObject *args)
{
	double s = -1;
	if (!PyArg_ParseTuple(args, "|d:wait", &s))
		return NULL;
	if (!o->c)
		Py_RETURN_FALSE;
	if (o->next < o->nitems)
		Py_RETURN_TRUE;
	int rc = wait_some(o, s < 0 ? -1 : (int64_t)(s * 1e9));
	if (rc < 0)
		return NULL;
	return PyBool_FromLong(rc > 0);
}

/* Cursor and stats as of the last item handed out: the rest of the batch is not counted yet. */
static void unconsumed(const ConsumerObject *o, struct evr_cursor *cur, struct evr_lane_stats *st)
{
	for (int i = o->nitems - 1; i >= o->next; i--) { /* backwards: the earliest item of a lane wins */
		const struct evr_item *it = &o->items[i];
		if (cur)
			cur->pos[it->lane] = it->pos;
		if (!st)
			continue;
		st->cursor -= it->count;
		if (it->kind == EVR_ITEM_LOST_LAPPED)
			st->lost_lapped -= it->count;
		else if (it->kind == EVR_ITEM_LOST_ABANDONED)
			st->lost_abandoned -= it->count;
		else
			st->delivered--, st->invalid -= it->kind == EVR_ITEM_INVALID;
	}
}

static PyObject *closed_error(void)
{
	return PyErr_Format(PyExc_ValueError, "the consumer is closed");
}

static PyObject *consumer_cursor(ConsumerObject *o, PyObject *unused)
{
	(void)unused;
	if (!o->c)
		return closed_error();
	CursorObject *c = PyObject_New(CursorObject, &Evpy_CursorType);
	if (!c)
		return NULL;
	evr_consumer_cursor(o->c, &c->cur);
	unconsumed(o, &c->cur, NULL);
	return (PyObject *)c;
}

static PyObject *consumer_stats(ConsumerObject *o, PyObject *unused)
{
	(void)unused;
	if (!o->c)
		return closed_error();
	struct evr_lane_stats st;
	evr_consumer_stats(o->c, &st);
	unconsumed(o, NULL, &st);
	return Py_BuildValue("{sKsKsKsKsKsK}", "start", (unsigned long long)st.start, "cursor",
			     (unsigned long long)st.cursor, "delivered", (unsigned long long)st.delivered, "invalid",
			     (unsigned long long)st.invalid, "lost_lapped", (unsigned long long)st.lost_lapped,
			     "lost_abandoned", (unsigned long long)st.lost_abandoned);
}

static PyObject *consumer_close(ConsumerObject *o, PyObject *unused)
{
	(void)unused;
	if (o->in_wait)
		o->close_pending = true; /* the waiting thread frees it when its slice ends */
	else
		consumer_free_c(o);
	Py_RETURN_NONE;
}

static PyObject *consumer_enter(PyObject *o, PyObject *unused)
{
	(void)unused;
	return Py_NewRef(o);
}

static PyObject *consumer_exit(ConsumerObject *o, PyObject *args)
{
	(void)args;
	return consumer_close(o, NULL);
}

static PyMethodDef consumer_methods[] = {
	{"cursor", (PyCFunction)consumer_cursor, METH_NOARGS,
	 "cursor() -> Cursor\n\nWhere the consumer is: pass it (or a file it was saved to) as start= to resume "
	 "after the last item yielded."},
	{"stats", (PyCFunction)consumer_stats, METH_NOARGS,
	 "stats() -> dict\n\nSummed over the lanes, as of the last item yielded: start, cursor, delivered "
	 "(records read, filtered ones and invalid ones included), invalid, lost_lapped, lost_abandoned; "
	 "delivered + lost_lapped + lost_abandoned == cursor - start."},
	{"wait", (PyCFunction)consumer_wait, METH_VARARGS,
	 "wait(timeout=-1.0) -> bool\n\nSleep (GIL released) until an item may be available, or timeout "
	 "seconds (< 0: no limit). True when something may be there."},
	{"close", (PyCFunction)consumer_close, METH_NOARGS,
	 "close()\n\nFree the consumer (safe from another thread while it waits: the iteration ends)."},
	{"__enter__", consumer_enter, METH_NOARGS, NULL},
	{"__exit__", (PyCFunction)consumer_exit, METH_VARARGS, NULL},
	{NULL, NULL, 0, NULL},
};

PyTypeObject Evpy_ConsumerType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "evring.Consumer",
	.tp_basicsize = sizeof(ConsumerObject),
	.tp_dealloc = (destructor)consumer_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "An iterator of Event and Lost items; made by Ring.consume(). Without follow it ends when "
		  "the ring has nothing new; iterating again goes on from there. For one thread at a time.",
	.tp_iter = PyObject_SelfIter,
	.tp_iternext = (iternextfunc)consumer_next,
	.tp_methods = consumer_methods,
};

/* Cursor */

static PyObject *cursor_save(CursorObject *c, PyObject *arg)
{
	PyObject *bytes;
	if (!PyUnicode_FSConverter(arg, &bytes))
		return NULL;
	int rc = evr_cursor_save(PyBytes_AS_STRING(bytes), &c->cur);
	Py_DECREF(bytes);
	if (rc < 0)
		return evpy_raise(rc, NULL);
	Py_RETURN_NONE;
}

static PyObject *cursor_load(PyObject *cls, PyObject *arg)
{
	PyObject *bytes;
	if (!PyUnicode_FSConverter(arg, &bytes))
		return NULL;
	CursorObject *c = PyObject_New(CursorObject, (PyTypeObject *)cls);
	int rc = c ? evr_cursor_load(PyBytes_AS_STRING(bytes), &c->cur) : 0;
	Py_DECREF(bytes);
	if (rc < 0) {
		Py_DECREF(c);
		return evpy_raise(rc, NULL);
	}
	return (PyObject *)c;
}

static PyObject *cursor_ring_id(CursorObject *c, void *x)
{
	(void)x;
	return PyLong_FromUnsignedLongLong(c->cur.ring_id);
}

static PyObject *cursor_positions(CursorObject *c, void *x)
{
	(void)x;
	PyObject *t = PyTuple_New(c->cur.lanes);
	for (uint32_t l = 0; t && l < c->cur.lanes; l++)
		PyTuple_SET_ITEM(t, l, PyLong_FromUnsignedLongLong(c->cur.pos[l]));
	return t;
}

static PyObject *cursor_repr(CursorObject *c)
{
	PyObject *pos = cursor_positions(c, NULL);
	char id[24];
	snprintf(id, sizeof id, "%016llx", (unsigned long long)c->cur.ring_id);
	PyObject *r = pos ? PyUnicode_FromFormat("<evring.Cursor ring_id=%s positions=%R>", id, pos) : NULL;
	Py_XDECREF(pos);
	return r;
}

static PyMethodDef cursor_methods[] = {
	{"save", (PyCFunction)cursor_save, METH_O,
	 "save(path)\n\nWrite the cursor to a small text file (atomically: a temp file renamed)."},
	{"load", (PyCFunction)cursor_load, METH_O | METH_CLASS, "Cursor.load(path) -> Cursor\n\nRead a saved cursor."},
	{NULL, NULL, 0, NULL},
};

static PyGetSetDef cursor_getset[] = {
	{"ring_id", (getter)cursor_ring_id, NULL, "The ring this cursor belongs to.", NULL},
	{"positions", (getter)cursor_positions, NULL, "One position per lane.", NULL},
	{NULL, NULL, NULL, NULL, NULL},
};

PyTypeObject Evpy_CursorType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "evring.Cursor",
	.tp_basicsize = sizeof(CursorObject),
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "A saved consumer position (one cursor per lane, tied to one ring): Consumer.cursor(), "
		  "Cursor.load(path); pass it as Ring.consume(start=cursor).",
	.tp_repr = (reprfunc)cursor_repr,
	.tp_methods = cursor_methods,
	.tp_getset = cursor_getset,
};

int evpy_consumer_types_ready(PyObject *m)
{
	if (PyType_Ready(&Evpy_ConsumerType) < 0 || PyType_Ready(&Evpy_CursorType) < 0)
		return -1;
	return PyModule_AddObjectRef(m, "Consumer", (PyObject *)&Evpy_ConsumerType) < 0 ||
			       PyModule_AddObjectRef(m, "Cursor", (PyObject *)&Evpy_CursorType) < 0
		       ? -1
		       : 0;
}
