/* Cursor files: a small text format, written to a temporary file, fsynced and renamed into place,
 * so a crash leaves either the old or the new cursor, never a torn one.
 *     evring-cursor 1
 *     ring_id <hex>
 *     lanes <n>
 *     <pos of lane 0> ... one per line */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "evring/consumer.h"

int evr_cursor_save(const char *path, const struct evr_cursor *cur)
{
	if (cur->lanes == 0 || cur->lanes > EVR_MAX_LANES)
		return -EINVAL;
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	FILE *f = fopen(tmp, "w");
	if (!f)
		return -errno;
	fprintf(f, "evring-cursor 1\nring_id %016" PRIx64 "\nlanes %u\n", cur->ring_id, cur->lanes);
	for (unsigned l = 0; l < cur->lanes; l++)
		fprintf(f, "%" PRIu64 "\n", cur->pos[l]);
	int rc = fflush(f) || fsync(fileno(f)) ? -errno : 0;
	if (fclose(f) && !rc)
		rc = -errno;
	if (!rc && rename(tmp, path))
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

int evr_cursor_load(const char *path, struct evr_cursor *cur)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -errno;
	memset(cur, 0, sizeof *cur);
	int version = 0, rc = 0;
	if (fscanf(f, "evring-cursor %d ring_id %" SCNx64 " lanes %u", &version, &cur->ring_id, &cur->lanes) != 3 ||
	    version != 1 || cur->lanes == 0 || cur->lanes > EVR_MAX_LANES)
		rc = -EPROTO;
	for (unsigned l = 0; !rc && l < cur->lanes; l++)
		if (fscanf(f, "%" SCNu64, &cur->pos[l]) != 1)
			rc = -EPROTO;
	fclose(f);
	return rc;
}
