/* Schema: the ring's description, copied and turned into per-type tables of interned Python names
 * once per ring, so an emit or an attribute lookup compares pointers instead of building strings. */
#include "evpy.h" /* Python.h first, as the C API requires */

#include <string.h>

static void schema_dealloc(SchemaObject *s)
{
	for (unsigned i = 0; s->types && i < s->ntypes; i++) {
		struct evpy_type *t = &s->types[i];
		Py_XDECREF(t->name);
		Py_XDECREF(t->domain);
		Py_XDECREF(t->field_names);
		for (unsigned j = 0; t->fields && j < t->nfields; j++)
			Py_XDECREF(t->fields[j].name);
		PyMem_Free(t->fields);
	}
	PyMem_Free(s->types);
	PyMem_Free(s->desc);
	Py_XDECREF(s->by_name);
	Py_XDECREF(s->domains);
	Py_XDECREF(s->type_list);
	Py_TYPE(s)->tp_free((PyObject *)s);
}

PyTypeObject Evpy_SchemaType = {
	PyVarObject_HEAD_INIT(NULL, 0)
	.tp_name = "evring._Schema",
	.tp_basicsize = sizeof(SchemaObject),
	.tp_dealloc = (destructor)schema_dealloc,
	.tp_flags = Py_TPFLAGS_DEFAULT,
	.tp_doc = "A ring's event table (internal).",
};

/* Names in a description are NUL-terminated inside their fixed field (evr_desc_validate). */
static PyObject *intern_n(const char *s, size_t max)
{
	PyObject *o = PyUnicode_FromStringAndSize(s, (Py_ssize_t)strnlen(s, max));
	if (o)
		PyUnicode_InternInPlace(&o);
	return o;
}

static int fill_type(SchemaObject *s, unsigned i)
{
	const struct evr_desc_type *dt = evr_desc_type(s->desc, i);
	const struct evr_desc_field *df = evr_desc_fields(s->desc) + dt->first_field;
	struct evpy_type *t = &s->types[i];
	t->details_offset = dt->details_offset;
	t->details_size = dt->details_size;
	if (!(t->name = intern_n(dt->name, sizeof dt->name)) || !(t->domain = intern_n(dt->domain, sizeof dt->domain)))
		return -1;
	t->fields = PyMem_Calloc(dt->field_count ? dt->field_count : 1, sizeof *t->fields);
	if (!t->fields || !(t->field_names = PyTuple_New(dt->field_count)))
		return -1;
	t->nfields = dt->field_count;
	for (unsigned j = 0; j < t->nfields; j++) {
		struct evpy_field *f = &t->fields[j];
		if (!(f->name = intern_n(df[j].name, sizeof df[j].name)))
			return -1;
		f->offset = df[j].offset;
		f->size = df[j].size;
		f->kind = df[j].kind;
		f->since = df[j].since;
		Py_INCREF(f->name);
		PyTuple_SET_ITEM(t->field_names, j, f->name);
	}
	PyObject *id = PyLong_FromUnsignedLong(i);
	int rc = id ? PyDict_SetItem(s->by_name, t->name, id) : -1;
	Py_XDECREF(id);
	if (rc == 0) {
		Py_INCREF(t->name);
		PyTuple_SET_ITEM(s->type_list, i, t->name);
	}
	return rc;
}

static int fill_domains(SchemaObject *s)
{
	PyObject *list = PyList_New(0);
	for (unsigned i = 0; list && i < s->ntypes; i++) {
		int has = PySequence_Contains(list, s->types[i].domain);
		if (has < 0 || (!has && PyList_Append(list, s->types[i].domain) < 0))
			Py_CLEAR(list);
	}
	if (!list)
		return -1;
	s->domains = PyList_AsTuple(list);
	Py_DECREF(list);
	return s->domains ? 0 : -1;
}

SchemaObject *evpy_schema_new(const struct evr_desc_header *d)
{
	SchemaObject *s = PyObject_New(SchemaObject, &Evpy_SchemaType);
	if (!s)
		return NULL;
	s->types = NULL;
	s->ntypes = 0;
	s->by_name = s->domains = s->type_list = NULL;
	if (!(s->desc = PyMem_Malloc(d->size)))
		goto fail;
	memcpy(s->desc, d, d->size);
	if (!(s->types = PyMem_Calloc(d->type_count ? d->type_count : 1, sizeof *s->types)))
		goto fail;
	s->ntypes = d->type_count;
	if (!(s->by_name = PyDict_New()) || !(s->type_list = PyTuple_New(s->ntypes)))
		goto fail;
	for (unsigned i = 0; i < s->ntypes; i++)
		if (fill_type(s, i) < 0)
			goto fail;
	if (fill_domains(s) < 0)
		goto fail;
	return s;
fail:
	if (!PyErr_Occurred())
		PyErr_NoMemory();
	Py_DECREF(s);
	return NULL;
}

PyObject *evpy_join(PyObject *tuple)
{
	PyObject *sep = PyUnicode_FromString(", ");
	PyObject *out = sep ? PyUnicode_Join(sep, tuple) : NULL;
	Py_XDECREF(sep);
	return out;
}

int evpy_schema_type_id(SchemaObject *s, PyObject *name)
{
	if (!PyUnicode_Check(name)) {
		PyErr_Format(PyExc_TypeError, "event type must be a str, not %.100s", Py_TYPE(name)->tp_name);
		return -1;
	}
	PyObject *id = PyDict_GetItemWithError(s->by_name, name);
	if (id)
		return (int)PyLong_AsLong(id);
	if (!PyErr_Occurred()) {
		PyObject *valid = evpy_join(s->type_list);
		if (valid)
			PyErr_Format(PyExc_ValueError, "unknown event type %R; the ring's types: %U", name, valid);
		Py_XDECREF(valid);
	}
	return -1;
}
