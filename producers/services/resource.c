/* Resource service: accesses (with a mode), modifications (bytes written) and index runs (chunks
 * produced) of the resources a plan touches. Stateless: it validates and emits. */
#include <errno.h>
#include <string.h>

#include "services.h"
#include <evring/platform.h>

static bool valid_path(const char *path)
{
	return path && *path;
}

int evr_resource_access(struct evr_svc *s, uint64_t plan_id, uint64_t corr, uint64_t id, const char *path,
			const char *mode)
{
	if (!id || !valid_path(path) || !mode || (strcmp(mode, "r") && strcmp(mode, "w") && strcmp(mode, "rw")))
		return -EINVAL;
	evr_svc_note(s, EVR_RESOURCE_ACCESSED, evr_emit_resource_accessed(s->p, corr, plan_id,
						   &(struct evr_args_resource_accessed){
							   .resource_id = id, .path = path, .mode = mode }));
	return 0;
}

int evr_resource_modify(struct evr_svc *s, uint64_t plan_id, uint64_t corr, uint64_t id, const char *path,
			uint64_t bytes)
{
	if (!id || !valid_path(path))
		return -EINVAL;
	evr_svc_note(s, EVR_RESOURCE_MODIFIED, evr_emit_resource_modified(s->p, corr, plan_id,
						   &(struct evr_args_resource_modified){
							   .resource_id = id, .bytes = bytes, .path = path }));
	return 0;
}

int evr_resource_index(struct evr_svc *s, uint64_t plan_id, uint64_t corr, uint64_t id, const char *path,
		       uint32_t chunks)
{
	if (!id || !valid_path(path))
		return -EINVAL;
	evr_svc_note(s, EVR_RESOURCE_INDEXED, evr_emit_resource_indexed(s->p, corr, plan_id,
						  &(struct evr_args_resource_indexed){
							  .resource_id = id, .chunks = chunks, .path = path }));
	return 0;
}
