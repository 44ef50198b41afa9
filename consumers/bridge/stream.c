/* The bridge's NATS connection and its streams: connect with reconnects and fast dead-server
 * detection, create the event stream when absent (subjects <prefix>.>, limits, duplicate window)
 * and its description stream (<stream>_SCHEMAS, subjects <prefix>-schema.<hash>, no limits: a
 * description must outlive every record that names it), refuse a stream evring did not make, and
 * put and get the descriptions records name by hash. Called at start by cmd_bridge.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bridge.h"
#include "cli.h"
#include <stdlib.h>

#include <evring/describe.h>

#define EVENTS_TAG "evring events"
#define SCHEMAS_TAG "evring schema descriptions, by hash"

/* The URLs for messages, with any user:password@ replaced: errors end up in logs. */
static void redact(const char *urls, char *out, size_t len)
{
	size_t n = 0;
	for (const char *u = urls; *u && n + 4 < len;) {
		const char *scheme = strstr(u, "://"), *at = strchr(u, '@'), *comma = strchr(u, ',');
		if (scheme && at && (!comma || at < comma) && at > scheme) {
			n += (size_t)snprintf(out + n, len - n, "%.*s***", (int)(scheme + 3 - u), u);
			u = at;
		} else {
			size_t k = comma ? (size_t)(comma + 1 - u) : strlen(u);
			n += (size_t)snprintf(out + n, len - n, "%.*s", (int)k, u);
			u += k;
		}
		if (n >= len)
			break;
	}
}

static int nats_fail(const struct evr_bridge_opts *o, const char *what, natsStatus s, jsErrCode jerr)
{
	const char *last = nats_GetLastError(NULL);
	char url[512] = "";
	redact(o->url, url, sizeof url);
	if (s == NATS_NO_SERVER)
		evr_cli_error(o->cmd, "%s: no NATS server reachable at %s", what, url);
	else if (s == NATS_CONNECTION_AUTH_FAILED)
		evr_cli_error(o->cmd, "%s: authentication failed at %s (credentials in the URL: nats://user:pass@host)",
			      what, url);
	else
		evr_cli_error(o->cmd, "%s: %s%s%s (jetstream error %d)", what, natsStatus_GetText(s),
			      last ? ": " : "", last ? last : "", (int)jerr);
	return EVR_EXIT_FAIL;
}

static int check_stream(const struct evr_bridge_opts *o, jsStreamInfo *si)
{
	const char *desc = si->Config->Description ? si->Config->Description : "";
	if (strncmp(desc, EVENTS_TAG, strlen(EVENTS_TAG))) {
		evr_cli_error(o->cmd, "stream %s was not made by evring (its description does not start with '%s'); "
			      "pick another --stream", o->stream, EVENTS_TAG);
		return EVR_EXIT_FAIL;
	}
	return 0;
}

static void schema_stream_name(const struct evr_bridge_opts *o, char *out, size_t len)
{
	snprintf(out, len, "%s_SCHEMAS", o->stream);
}

static void schema_subject(const struct evr_bridge_opts *o, uint64_t hash, char *out, size_t len)
{
	snprintf(out, len, "%s-schema.%016" PRIx64, o->prefix, hash);
}

/* The description stream: one message per schema hash, kept for ever (they are a few KiB). */
static int ensure_schema_stream(const struct evr_bridge_opts *o, struct evr_bridge_conn *c)
{
	char name[160], subject[256];
	schema_stream_name(o, name, sizeof name);
	snprintf(subject, sizeof subject, "%s-schema.>", o->prefix);
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_GetStreamInfo(&si, c->js, name, NULL, &jerr);
	if (s == NATS_OK) { /* one someone else made could expire or replace descriptions: refuse it */
		const struct jsStreamConfig *have = si->Config;
		bool ours = have->Description && !strcmp(have->Description, SCHEMAS_TAG) && have->MaxMsgsPerSubject == 1 &&
			    have->Discard == js_DiscardNew && have->DiscardNewPerSubject && !have->MaxAge && have->MaxBytes <= 0;
		jsStreamInfo_Destroy(si);
		if (!ours)
			evr_cli_error(o->cmd, "stream %s is not evring's description stream (description '%s', kept for ever, "
				      "first description per hash); remove it or pick another --stream", name, SCHEMAS_TAG);
		return ours ? 0 : EVR_EXIT_FAIL;
	}
	if (s != NATS_NOT_FOUND)
		return nats_fail(o, "description stream info", s, jerr);
	const char *subjects[] = { subject };
	jsStreamConfig cfg;
	jsStreamConfig_Init(&cfg);
	cfg.Name = name;
	cfg.Description = SCHEMAS_TAG;
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	cfg.Storage = js_FileStorage;
	/* a hash names one description, the first stored: a later put under the same subject (a
	 * forgery, or a race with another bridge) is refused by the server, not stored over it */
	cfg.MaxMsgsPerSubject = 1;
	cfg.Discard = js_DiscardNew;
	cfg.DiscardNewPerSubject = true;
	cfg.Replicas = o->replicas;
	s = js_AddStream(&si, c->js, &cfg, NULL, &jerr);
	if (s != NATS_OK)
		return nats_fail(o, "create description stream", s, jerr);
	jsStreamInfo_Destroy(si);
	return 0;
}

int evr_bridge_put_schema(const struct evr_bridge_opts *o, struct evr_bridge_conn *c, const struct evr_desc_header *d)
{
	char subject[256], why[256];
	uint64_t hash = evr_desc_hash(d);
	schema_subject(o, hash, subject, sizeof subject);
	for (int attempt = 0; attempt < 2; attempt++) {
		struct evr_desc_header *stored = NULL;
		int got = evr_bridge_get_schema(o, c, hash, &stored, why, sizeof why);
		if (got == -EPROTO) { /* something that is not a valid description with this hash */
			evr_cli_error(o->cmd, "%s holds another description under this ring's schema hash 0x%016" PRIx64
				      " (%s): not publishing", subject, hash, why);
			return EVR_EXIT_FAIL;
		}
		if (got == 0) { /* there already */
			bool same = stored->size == d->size && !memcmp(stored, d, d->size);
			free(stored);
			if (!same)
				evr_cli_error(o->cmd, "%s holds another description under this ring's schema hash 0x%016" PRIx64
					      "; readers would decode these records with it: not publishing", subject, hash);
			return same ? 0 : EVR_EXIT_FAIL;
		}
		jsPubAck *ack = NULL;
		jsErrCode jerr = 0;
		natsStatus s = js_Publish(&ack, c->js, subject, d, (int)d->size, NULL, &jerr);
		jsPubAck_Destroy(ack);
		if (s == NATS_OK)
			return 0;
		if (attempt) /* refused twice, and not there: not a race with another bridge */
			return nats_fail(o, "publish the ring's description", s, jerr);
	}
	return EVR_EXIT_FAIL; /* not reached */
}

int evr_bridge_get_schema(const struct evr_bridge_opts *o, struct evr_bridge_conn *c, uint64_t hash,
			  struct evr_desc_header **out, char *why, size_t why_len)
{
	char name[160], subject[256];
	schema_stream_name(o, name, sizeof name);
	schema_subject(o, hash, subject, sizeof subject);
	natsMsg *m = NULL;
	jsErrCode jerr = 0;
	*out = NULL;
	if (js_GetLastMsg(&m, c->js, name, subject, NULL, &jerr) != NATS_OK) {
		snprintf(why, why_len, "no description of schema 0x%016" PRIx64 " on %s in stream %s", hash, subject, name);
		return -ENOENT;
	}
	int len = natsMsg_GetDataLength(m);
	struct evr_desc_header *d = len > 0 && (size_t)len <= EVR_DESC_MAX_SIZE ? malloc((size_t)len) : NULL;
	char bad[200];
	int rc = 0;
	if (d)
		memcpy(d, natsMsg_GetData(m), (size_t)len);
	if (!d) {
		snprintf(why, why_len, "description of schema 0x%016" PRIx64 ": %d bytes", hash, len);
		rc = -EPROTO;
	} else if (evr_desc_validate(d, (size_t)len, bad, sizeof bad) || evr_desc_hash(d) != hash) {
		snprintf(why, why_len, "description of schema 0x%016" PRIx64 " is damaged: %s", hash,
			 evr_desc_validate(d, (size_t)len, NULL, 0) ? bad : "its hash differs");
		rc = -EPROTO;
	}
	natsMsg_Destroy(m);
	if (rc)
		free(d);
	else
		*out = d;
	return rc;
}

static int ensure_stream(const struct evr_bridge_opts *o, struct evr_bridge_conn *c)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_GetStreamInfo(&si, c->js, o->stream, NULL, &jerr);
	if (s == NATS_OK) {
		int rc = check_stream(o, si);
		jsStreamInfo_Destroy(si);
		return rc ? rc : ensure_schema_stream(o, c);
	}
	if (s == NATS_NOT_FOUND && o->inbound) {
		char url[512] = "";
		redact(o->url, url, sizeof url);
		evr_cli_error(o->cmd, "stream %s does not exist at %s", o->stream, url);
		return EVR_EXIT_FAIL;
	}
	if (s != NATS_NOT_FOUND)
		return nats_fail(o, "stream info", s, jerr);
	char subject[256], desc[320], schemas[160];
	schema_stream_name(o, schemas, sizeof schemas);
	snprintf(subject, sizeof subject, "%s.>", o->prefix);
	snprintf(desc, sizeof desc, EVENTS_TAG "; each message's Evring-Schema hash names its description in %s",
		 schemas);
	const char *subjects[] = { subject };
	jsStreamConfig cfg;
	jsStreamConfig_Init(&cfg);
	cfg.Name = o->stream;
	cfg.Description = desc;
	cfg.Subjects = subjects;
	cfg.SubjectsLen = 1;
	cfg.Storage = js_FileStorage;
	cfg.MaxAge = o->max_age_ns;
	cfg.MaxBytes = o->max_bytes;
	cfg.Duplicates = o->dup_window_ns; /* must cover the longest outage we re-send across */
	cfg.Replicas = o->replicas;
	s = js_AddStream(&si, c->js, &cfg, NULL, &jerr);
	if (s != NATS_OK)
		return nats_fail(o, "create stream", s, jerr);
	jsStreamInfo_Destroy(si);
	return ensure_schema_stream(o, c);
}

/* "nats://a:1,nats://b:2" -> the server list the client reconnects through (a cluster). */
static natsStatus set_servers(natsOptions *no, const char *urls)
{
	char buf[1024], *save = NULL;
	const char *list[16];
	int n = 0;
	snprintf(buf, sizeof buf, "%s", urls);
	for (char *u = strtok_r(buf, ",", &save); u && n < 16; u = strtok_r(NULL, ",", &save))
		list[n++] = u;
	return n ? natsOptions_SetServers(no, list, n) : NATS_INVALID_ARG;
}

int evr_bridge_connect(const struct evr_bridge_opts *o, struct evr_bridge_conn *c)
{
	natsOptions *no = NULL;
	natsStatus s = natsOptions_Create(&no);
	if (s == NATS_OK) s = set_servers(no, o->url);
	if (s == NATS_OK) s = natsOptions_SetMaxReconnect(no, -1);     /* the bridge outlives outages */
	if (s == NATS_OK) s = natsOptions_SetReconnectWait(no, 250);
	if (s == NATS_OK) s = natsOptions_SetPingInterval(no, 1000);   /* notice a frozen server in ~3 s */
	if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(no, 2);
	if (s == NATS_OK) s = natsOptions_SetTimeout(no, 2000);
	if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(no, 32 << 20);
	if (s != NATS_OK) {
		natsOptions_Destroy(no);
		return nats_fail(o, "options", s, 0);
	}
	s = natsConnection_Connect(&c->nc, no);
	natsOptions_Destroy(no);
	if (s != NATS_OK)
		return nats_fail(o, "connect", s, 0);
	jsOptions jo;
	jsOptions_Init(&jo);
	jo.Wait = 5000;
	s = natsConnection_JetStream(&c->js, c->nc, &jo);
	if (s != NATS_OK) {
		evr_bridge_disconnect(c);
		return nats_fail(o, "jetstream", s, 0);
	}
	int rc = ensure_stream(o, c);
	if (rc)
		evr_bridge_disconnect(c);
	return rc;
}

void evr_bridge_disconnect(struct evr_bridge_conn *c)
{
	if (c->js)
		jsCtx_Destroy(c->js);
	if (c->nc)
		natsConnection_Destroy(c->nc);
	c->js = NULL;
	c->nc = NULL;
}
