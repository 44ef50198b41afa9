/* The fan-out of `evring serve`: see serve_hub.h for the entries, the per-lane bases and locking. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "serve_hub.h"

#define JSON_MAX EVR_DESC_JSON_MAX /* a record's JSON under any valid description */
#define STAGE_SIZE 65536   /* per reader: what one read copies out of the hub, at most */
#define LOST_FRAME_MAX 160 /* "event: lost" and its data line */

struct entry {
	struct evr_record rec; /* for the reader's filter */
	uint64_t pos, count;
	uint16_t lane;
	uint8_t kind;     /* enum evr_item_kind */
	uint32_t len;     /* "event: TYPE\ndata: JSON\n\n"; none for losses (readers write them) */
	char frame[];
};

struct evr_hub {
	pthread_mutex_t mu;
	pthread_cond_t cv; /* broadcast: new entries, or closed */
	unsigned lanes;
	uint64_t ring_id;
	const struct evr_desc_header *desc; /* the ring's own description: names and fields of its types */
	size_t cap, stride, frame_max, id_max;
	char *slots;
	uint64_t head;    /* sequence number of the next entry; [head - cap, head) are held */
	uint64_t *base;   /* per lane: the first position an entry held covers */
	uint64_t *cur;    /* per lane: the pump's cursor after the last entry */
	uint64_t *start;  /* per lane: where the pump started (the oldest record the ring held) */
	uint64_t readers, reader_losses;
	bool closed;
	char why[128];
	char *scratch; /* the pump's own: the entries of one batch, formatted outside the lock */
	size_t scratch_n;
};

struct evr_hub_reader {
	struct evr_hub *h;
	struct evr_filter f;
	uint64_t seq, heartbeat_ns;
	uint64_t *cur;
	size_t off, len;
	bool ended;
	char stage[STAGE_SIZE];
};

static struct entry *slot(const struct evr_hub *h, uint64_t seq)
{
	return (struct entry *)(h->slots + (seq % h->cap) * h->stride);
}

/* "RINGID.POS0.POS1...": hex, so a token of 2 lanes stays under 60 bytes. */
static int token(const struct evr_hub *h, const uint64_t *cur, char *out, size_t size)
{
	int n = snprintf(out, size, "%" PRIx64, h->ring_id);
	for (unsigned l = 0; l < h->lanes && n > 0 && (size_t)n < size; l++)
		n += snprintf(out + n, size - (size_t)n, ".%" PRIx64, cur[l]);
	return n;
}

int evr_hub_create(size_t cap, const struct evr_cursor *start, const struct evr_desc_header *desc,
		   struct evr_hub **out)
{
	struct evr_hub *h = calloc(1, sizeof *h);
	if (!h || !cap)
		return free(h), -EINVAL;
	h->desc = desc;
	h->lanes = start->lanes;
	h->ring_id = start->ring_id;
	h->cap = cap;
	h->frame_max = 8 + 32 + 8 + JSON_MAX; /* event and data lines */
	h->id_max = 8 + 17 * (h->lanes + 1);   /* "id: RINGID.POS...\n" */
	h->stride = (sizeof(struct entry) + h->frame_max + 7) & ~(size_t)7;
	h->scratch_n = 64;
	h->slots = malloc(cap * h->stride);
	h->scratch = malloc(h->scratch_n * h->stride);
	h->base = calloc(h->lanes, sizeof *h->base);
	h->cur = calloc(h->lanes, sizeof *h->cur);
	h->start = calloc(h->lanes, sizeof *h->start);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* heartbeats must not jump with the wall clock */
	pthread_cond_init(&h->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&h->mu, NULL);
	if (!h->slots || !h->scratch || !h->base || !h->cur || !h->start) {
		evr_hub_destroy(h);
		return -ENOMEM;
	}
	for (unsigned l = 0; l < h->lanes; l++)
		h->base[l] = h->cur[l] = h->start[l] = start->pos[l];
	*out = h;
	return 0;
}

void evr_hub_destroy(struct evr_hub *h)
{
	if (!h)
		return;
	pthread_cond_destroy(&h->cv);
	pthread_mutex_destroy(&h->mu);
	free(h->slots);
	free(h->scratch);
	free(h->base);
	free(h->cur);
	free(h->start);
	free(h);
}

/* Outside the lock: the item's frame, but for its id line, which is each reader's own cursor (a
 * resumed reader skips entries, so its cursor differs from the pump's). */
static void format(struct evr_hub *h, const struct evr_item *it, struct entry *e)
{
	e->rec = it->rec;
	e->pos = it->pos;
	e->count = it->count;
	e->lane = it->lane;
	e->kind = (uint8_t)it->kind;
	int n = 0;
	const struct evr_desc_type *type = evr_desc_type(h->desc, it->rec.type);
	if (it->kind == EVR_ITEM_RECORD && !type)
		e->kind = EVR_ITEM_INVALID; /* validated records have a type of the ring; never trust it blindly */
	if (e->kind == EVR_ITEM_RECORD) {
		/* decoded from the ring's description: types and fields of a newer table keep their names */
		n += snprintf(e->frame + n, h->frame_max - (size_t)n, "event: %s\ndata: ", type->name);
		int j = evr_desc_record_to_json(h->desc, &it->rec, e->frame + n, h->frame_max - (size_t)n - 2);
		if (j < 0 || (size_t)j >= h->frame_max - (size_t)n - 2)
			e->kind = EVR_ITEM_INVALID; /* cannot happen with EVR_DESC_JSON_MAX; never a torn frame */
		else
			n += snprintf(e->frame + n + j, 3, "\n\n") + j;
	}
	if (e->kind == EVR_ITEM_INVALID) /* from the frame's start: nothing half-written goes out */
		n = snprintf(e->frame, h->frame_max, "event: invalid\ndata: {\"lane\":%u,\"pos\":%" PRIu64 "}\n\n",
			     it->lane, it->pos);
	e->len = (uint32_t)n;
}

void evr_hub_publish(struct evr_hub *h, const struct evr_item *items, int n)
{
	while (n > 0) {
		int batch = n < (int)h->scratch_n ? n : (int)h->scratch_n;
		for (int i = 0; i < batch; i++)
			format(h, &items[i], (struct entry *)(h->scratch + (size_t)i * h->stride));
		pthread_mutex_lock(&h->mu);
		for (int i = 0; i < batch; i++, h->head++) {
			struct entry *e = slot(h, h->head), *src = (struct entry *)(h->scratch + (size_t)i * h->stride);
			if (h->head >= h->cap) /* overwrite the oldest: its positions leave the hub */
				h->base[e->lane] = e->pos + e->count;
			memcpy(e, src, sizeof *e + src->len);
			h->cur[e->lane] = e->pos + e->count;
		}
		pthread_cond_broadcast(&h->cv);
		pthread_mutex_unlock(&h->mu);
		items += batch;
		n -= batch;
	}
}

void evr_hub_close(struct evr_hub *h, const char *why)
{
	pthread_mutex_lock(&h->mu);
	h->closed = true;
	snprintf(h->why, sizeof h->why, "%s", why);
	pthread_cond_broadcast(&h->cv);
	pthread_mutex_unlock(&h->mu);
}

int evr_hub_parse_token(const struct evr_hub *h, const char *text, struct evr_cursor *out)
{
	const char *p = text;
	unsigned n = 0;
	uint64_t v[EVR_MAX_LANES + 1];
	for (;; n++) {
		char *end;
		if (n > EVR_MAX_LANES || !((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return -EINVAL;
		errno = 0;
		v[n] = strtoull(p, &end, 16);
		if (errno || end - p > 16)
			return -EINVAL;
		p = end;
		if (!*p)
			break;
		if (*p++ != '.')
			return -EINVAL;
	}
	if (v[0] != h->ring_id || n != h->lanes)
		return -ESRCH;
	memset(out, 0, sizeof *out);
	out->ring_id = v[0];
	out->lanes = n;
	memcpy(out->pos, v + 1, n * sizeof *v);
	return 0;
}

struct evr_hub_reader *evr_hub_reader_open(struct evr_hub *h, const struct evr_filter *f, enum evr_hub_from from,
					   const struct evr_cursor *cur, uint64_t heartbeat_ns)
{
	struct evr_hub_reader *r = calloc(1, sizeof *r);
	uint64_t *c = calloc(h->lanes, sizeof *c);
	if (!r || !c)
		return free(r), free(c), NULL;
	r->h = h;
	r->f = *f;
	r->cur = c;
	r->heartbeat_ns = heartbeat_ns;
	pthread_mutex_lock(&h->mu);
	r->seq = from == EVR_HUB_FROM_NOW ? h->head : h->head > h->cap ? h->head - h->cap : 0;
	/* from OLDEST: from the pump's start, so that what the hub no longer holds is reported */
	const uint64_t *src = from == EVR_HUB_FROM_NOW ? h->cur : from == EVR_HUB_FROM_OLDEST ? h->start : cur->pos;
	memcpy(c, src, h->lanes * sizeof *c);
	h->readers++;
	pthread_mutex_unlock(&h->mu);
	return r;
}

void evr_hub_reader_close(struct evr_hub_reader *r)
{
	if (!r)
		return;
	pthread_mutex_lock(&r->h->mu);
	r->h->readers--;
	pthread_mutex_unlock(&r->h->mu);
	free(r->cur);
	free(r);
}

static void stage(struct evr_hub_reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void stage(struct evr_hub_reader *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(r->stage + r->len, sizeof r->stage - r->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		r->len += (size_t)n < sizeof r->stage - r->len ? (size_t)n : sizeof r->stage - r->len - 1;
}

/* "id: CURSOR\n": the reader's cursor after the event that follows. */
static void id_line(struct evr_hub_reader *r)
{
	stage(r, "id: ");
	r->len += (size_t)token(r->h, r->cur, r->stage + r->len, sizeof r->stage - r->len);
	stage(r, "\n");
}

/* Under the lock: what this reader has not seen yet, into its stage, while a frame surely fits. */
static void fill(struct evr_hub_reader *r)
{
	struct evr_hub *h = r->h;
	uint64_t tail = h->head > h->cap ? h->head - h->cap : 0, lost = 0;
	if (r->seq < tail)
		r->seq = tail;
	for (unsigned l = 0; l < h->lanes; l++)
		if (r->cur[l] < h->base[l]) {
			lost += h->base[l] - r->cur[l];
			r->cur[l] = h->base[l];
		}
	if (lost) { /* positions the hub no longer holds: overtaken, or resumed from an older cursor */
		h->reader_losses += lost;
		id_line(r);
		stage(r, "event: lost\ndata: {\"reason\":\"behind\",\"count\":%" PRIu64 "}\n\n", lost);
	}
	while (r->seq < h->head && sizeof r->stage - r->len > h->id_max + h->frame_max + LOST_FRAME_MAX) {
		const struct entry *e = slot(h, r->seq++);
		uint64_t end = e->pos + e->count, from = e->pos > r->cur[e->lane] ? e->pos : r->cur[e->lane];
		if (end <= r->cur[e->lane])
			continue; /* seen before: a resumed cursor past it */
		r->cur[e->lane] = end;
		bool lost_item = e->kind == EVR_ITEM_LOST_LAPPED || e->kind == EVR_ITEM_LOST_ABANDONED;
		if (!lost_item && e->kind != EVR_ITEM_INVALID && !evr_filter_match(&r->f, &e->rec))
			continue; /* its positions are behind the cursor of the next event sent */
		id_line(r);
		if (lost_item) {
			stage(r, "event: lost\ndata: {\"reason\":\"%s\",\"lane\":%u,\"pos\":%" PRIu64 ",\"count\":%" PRIu64 "}\n\n",
			      e->kind == EVR_ITEM_LOST_LAPPED ? "lapped" : "abandoned", e->lane, from, end - from);
		} else {
			memcpy(r->stage + r->len, e->frame, e->len);
			r->len += e->len;
		}
	}
}

long evr_hub_reader_read(struct evr_hub_reader *r, char *buf, size_t max)
{
	struct evr_hub *h = r->h;
	if (r->off == r->len) {
		if (r->ended)
			return -1;
		r->off = r->len = 0;
		struct timespec deadline;
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += (time_t)(r->heartbeat_ns / 1000000000u);
		deadline.tv_nsec += (long)(r->heartbeat_ns % 1000000000u);
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
		pthread_mutex_lock(&h->mu);
		for (;;) {
			fill(r);
			if (r->len)
				break;
			if (h->closed) {
				stage(r, "event: end\ndata: {\"reason\":\"%s\"}\n\n", h->why);
				r->ended = true;
				break;
			}
			if (pthread_cond_timedwait(&h->cv, &h->mu, &deadline) == ETIMEDOUT) {
				/* a comment line: EventSource ignores it, proxies see traffic */
				stage(r, ": heartbeat\n\n");
				break;
			}
		}
		pthread_mutex_unlock(&h->mu);
	}
	size_t n = r->len - r->off < max ? r->len - r->off : max;
	memcpy(buf, r->stage + r->off, n);
	r->off += n;
	return (long)n;
}

void evr_hub_stats(struct evr_hub *h, struct evr_hub_stats *out)
{
	pthread_mutex_lock(&h->mu);
	out->published = h->head;
	out->positions = 0;
	for (unsigned l = 0; l < h->lanes; l++)
		out->positions += h->cur[l] - h->start[l];
	out->readers = h->readers;
	out->reader_losses = h->reader_losses;
	pthread_mutex_unlock(&h->mu);
}
