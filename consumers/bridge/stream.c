/* The bridge's NATS connection and its stream: connect with reconnects and fast dead-server
 * detection, create the stream when absent (subjects <prefix>.>, limits, duplicate window), and
 * refuse a stream that belongs to another schema, by its description tag or by the schema header
 * of its newest message. Called once at start by cmd_bridge.c. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "bridge.h"
#include "cli.h"
#include <evring/platform.h>

void evr_bridge_schema_tag(char out[40])
{
	snprintf(out, 40, "evring-schema=0x%016" PRIx64, evr_platform_hash());
}

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

/* The newest message must carry our schema too: a stream can be shared by old and new writers. */
static int check_last_message(const struct evr_bridge_opts *o, struct evr_bridge_conn *c, uint64_t last_seq)
{
	natsMsg *m = NULL;
	jsErrCode jerr = 0;
	if (js_GetMsg(&m, c->js, o->stream, last_seq, NULL, &jerr) != NATS_OK)
		return 0; /* expired or deleted meanwhile: the description check stands */
	const char *v = NULL;
	char want[24];
	snprintf(want, sizeof want, "0x%016" PRIx64, evr_platform_hash());
	int rc = 0;
	if (natsMsgHeader_Get(m, EVR_BRIDGE_SCHEMA_HDR, &v) != NATS_OK || strcmp(v, want)) {
		evr_cli_error(o->cmd, "stream %s: its newest message (seq %" PRIu64 ") has schema %s, this evring has %s",
			      o->stream, last_seq, v ? v : "(none)", want);
		rc = EVR_EXIT_FAIL;
	}
	natsMsg_Destroy(m);
	return rc;
}

static int check_stream(const struct evr_bridge_opts *o, struct evr_bridge_conn *c, jsStreamInfo *si)
{
	char tag[40];
	evr_bridge_schema_tag(tag);
	const char *desc = si->Config->Description ? si->Config->Description : "";
	const char *have = strstr(desc, "evring-schema=");
	if (!have) {
		evr_cli_error(o->cmd, "stream %s was not made by evring (its description has no %s); pick another --stream",
			      o->stream, tag);
		return EVR_EXIT_FAIL;
	}
	if (strncmp(have, tag, strlen(tag))) {
		evr_cli_error(o->cmd, "stream %s holds another schema (%.34s); this evring has %s", o->stream, have, tag);
		return EVR_EXIT_FAIL;
	}
	if (si->State.Msgs > 0)
		return check_last_message(o, c, si->State.LastSeq);
	return 0;
}

static int ensure_stream(const struct evr_bridge_opts *o, struct evr_bridge_conn *c)
{
	jsStreamInfo *si = NULL;
	jsErrCode jerr = 0;
	natsStatus s = js_GetStreamInfo(&si, c->js, o->stream, NULL, &jerr);
	if (s == NATS_OK) {
		int rc = check_stream(o, c, si);
		jsStreamInfo_Destroy(si);
		return rc;
	}
	if (s == NATS_NOT_FOUND && o->inbound) {
		char url[512] = "";
		redact(o->url, url, sizeof url);
		evr_cli_error(o->cmd, "stream %s does not exist at %s", o->stream, url);
		return EVR_EXIT_FAIL;
	}
	if (s != NATS_NOT_FOUND)
		return nats_fail(o, "stream info", s, jerr);
	char subject[256], desc[96], tag[40];
	evr_bridge_schema_tag(tag);
	snprintf(subject, sizeof subject, "%s.>", o->prefix);
	snprintf(desc, sizeof desc, "evring events; %s", tag);
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
	return 0;
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
