/* Bounded reorder window: see reorder.h. */
#include <errno.h>
#include <stdlib.h>

#include "reorder.h"

static bool before(const struct evr_record *a, const struct evr_record *b)
{
	if (a->ts != b->ts)
		return a->ts < b->ts;
	return a->lane != b->lane ? a->lane < b->lane : a->seq < b->seq;
}

static void swap(struct evr_record *a, struct evr_record *b)
{
	struct evr_record t = *a;
	*a = *b;
	*b = t;
}

int evr_reorder_init(struct evr_reorder *r, size_t cap)
{
	r->heap = malloc((cap + 1) * sizeof *r->heap); /* one more: a push lands before the pop */
	r->len = 0;
	r->cap = r->heap ? cap : 0;
	return r->heap ? 0 : -ENOMEM;
}

void evr_reorder_free(struct evr_reorder *r)
{
	free(r->heap);
	*r = (struct evr_reorder){ 0 };
}

bool evr_reorder_pop(struct evr_reorder *r, struct evr_record *out)
{
	if (!r->len)
		return false;
	struct evr_record *h = r->heap;
	*out = h[0];
	h[0] = h[--r->len];
	for (size_t i = 0;;) { /* sift down */
		size_t l = 2 * i + 1, m = i;
		if (l < r->len && before(&h[l], &h[m]))
			m = l;
		if (l + 1 < r->len && before(&h[l + 1], &h[m]))
			m = l + 1;
		if (m == i)
			break;
		swap(&h[i], &h[m]);
		i = m;
	}
	return true;
}

bool evr_reorder_push(struct evr_reorder *r, const struct evr_record *rec, struct evr_record *out)
{
	struct evr_record *h = r->heap;
	size_t i = r->len++;
	h[i] = *rec;
	while (i && before(&h[i], &h[(i - 1) / 2])) { /* sift up */
		swap(&h[i], &h[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	return r->len > r->cap && evr_reorder_pop(r, out);
}
