/* The evring CPython extension (_evring): shared declarations.
 *
 * Everything here is driven by the ring's own description (evring/describe.h): type names, domains,
 * field names, kinds, offsets and sizes are read from the ring when it is opened, never from a
 * compiled event table, so the module handles whatever table the ring was created with.
 *
 * Objects: Ring (a read-only mapping for consumers, a read-write one opened on the first producer),
 * Schema (a private copy of the description plus per-type tables of interned names; records and
 * events point at it, so they outlive the ring), Producer, Consumer, Cursor, Event, Lost. */
#ifndef EVPY_H
#define EVPY_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdbool.h>

#include <evring/consumer.h>
#include <evring/describe.h>
#include <evring/producer.h>
#include <evring/ring.h>

struct evpy_field {
	PyObject *name; /* interned: keyword arguments are compared by identity first */
	uint16_t offset, size, since;
	uint8_t kind;
};

struct evpy_type {
	PyObject *name, *domain, *field_names; /* str, str, tuple of str */
	struct evpy_field *fields;
	unsigned nfields;
	uint16_t details_offset, details_size;
};

typedef struct {
	PyObject_HEAD
	struct evr_desc_header *desc; /* private copy: valid as long as this object */
	struct evpy_type *types;
	unsigned ntypes;
	PyObject *by_name;   /* dict: type name -> int id */
	PyObject *domains;   /* tuple of the domain names, in order of first appearance */
	PyObject *type_list; /* tuple of the type names, by id */
} SchemaObject;

typedef struct {
	PyObject_HEAD
	PyObject *name;          /* str, as normalized ("/events") */
	struct evr_ring *ro;     /* consumer role: what every consumer reads */
	struct evr_ring *rw;     /* producer role, opened with the first producer (NULL until then) */
	SchemaObject *schema;
} RingObject;

typedef struct {
	PyObject_HEAD
	SchemaObject *schema;
	struct evr_record rec;
} EventObject;

typedef struct {
	PyObject_HEAD
	struct evr_cursor cur;
} CursorObject;

extern PyTypeObject Evpy_SchemaType, Evpy_RingType, Evpy_ProducerType, Evpy_ConsumerType,
	Evpy_CursorType, Evpy_EventType;
extern PyTypeObject *Evpy_LostType; /* a struct sequence: reason, lane, pos, count */
extern PyObject *Evpy_Error;        /* evring.Error, an OSError */

/* Interned strings shared by the modules (created at import). */
extern PyObject *evpy_s_correlation_id, *evpy_s_plan_id, *evpy_s_details, *evpy_s_lapped,
	*evpy_s_abandoned;

/* Raise evring.Error(errno, the sentence of err or evr_strerror(rc)); returns NULL. err may be NULL. */
PyObject *evpy_raise(int rc, const struct evr_err *err);

SchemaObject *evpy_schema_new(const struct evr_desc_header *d);
/* Type id for a name (str), or -1 with ValueError naming the valid types. */
int evpy_schema_type_id(SchemaObject *s, PyObject *name);
/* Comma-separated names of a tuple of str, for error messages. */
PyObject *evpy_join(PyObject *tuple);

PyObject *evpy_event_new(SchemaObject *s, const struct evr_record *r);
PyObject *evpy_lost_new(const struct evr_item *it);

PyObject *evpy_producer_new(RingObject *ring, const char *service);
PyObject *evpy_consumer_new(RingObject *ring, PyObject *args, PyObject *kw);

int evpy_event_types_ready(PyObject *m);
int evpy_consumer_types_ready(PyObject *m);

#endif
