/* Sandbox service: a sandbox is created from a base, takes checkpoints, may be restored to one of
 * its checkpoints, and ends committed or rolled back (to its latest checkpoint, 0 if none). */
#include <errno.h>

#include "services.h"
#include <evring/platform.h>

int evr_sandbox_create(struct evr_svc *s, struct evr_sandbox *sb, uint64_t id, uint64_t plan_id, uint64_t corr,
		       const char *base)
{
	if (!id || !base || !*base)
		return -EINVAL;
	*sb = (struct evr_sandbox){ .id = id, .plan_id = plan_id, .correlation_id = corr, .open = true };
	evr_svc_note(s, EVR_SANDBOX_CREATED, evr_emit_sandbox_created(s->p, corr, plan_id,
						 &(struct evr_args_sandbox_created){ .sandbox_id = id, .base = base }));
	return 0;
}

int evr_sandbox_checkpoint(struct evr_svc *s, struct evr_sandbox *sb, uint64_t checkpoint_id)
{
	if (!sb->open)
		return -EPERM;
	if (!checkpoint_id || sb->checkpoints == EVR_SANDBOX_MAX_CHECKPOINTS)
		return -EINVAL;
	sb->checkpoint_ids[sb->checkpoints++] = checkpoint_id;
	evr_svc_note(s, EVR_CHECKPOINT_CREATED, evr_emit_checkpoint_created(s->p, sb->correlation_id, sb->plan_id,
						    &(struct evr_args_checkpoint_created){
							    .sandbox_id = sb->id, .checkpoint_id = checkpoint_id }));
	return 0;
}

int evr_sandbox_restore(struct evr_svc *s, struct evr_sandbox *sb, uint64_t checkpoint_id)
{
	if (!sb->open)
		return -EPERM;
	uint32_t i = 0;
	while (i < sb->checkpoints && sb->checkpoint_ids[i] != checkpoint_id)
		i++;
	if (i == sb->checkpoints)
		return -ENOENT;
	sb->checkpoints = i + 1; /* later checkpoints are gone with the state they captured */
	evr_svc_note(s, EVR_CHECKPOINT_RESTORED, evr_emit_checkpoint_restored(s->p, sb->correlation_id, sb->plan_id,
						     &(struct evr_args_checkpoint_restored){
							     .sandbox_id = sb->id, .checkpoint_id = checkpoint_id }));
	return 0;
}

int evr_sandbox_commit(struct evr_svc *s, struct evr_sandbox *sb)
{
	if (!sb->open)
		return -EPERM;
	sb->open = false;
	evr_svc_note(s, EVR_SANDBOX_COMMITTED, evr_emit_sandbox_committed(s->p, sb->correlation_id, sb->plan_id,
						   &(struct evr_args_sandbox_committed){
							   .sandbox_id = sb->id, .files_changed = sb->files_changed }));
	return 0;
}

int evr_sandbox_rollback(struct evr_svc *s, struct evr_sandbox *sb, const char *reason)
{
	if (!sb->open)
		return -EPERM;
	sb->open = false;
	uint64_t ckpt = sb->checkpoints ? sb->checkpoint_ids[sb->checkpoints - 1] : 0;
	evr_svc_note(s, EVR_SANDBOX_ROLLED_BACK, evr_emit_sandbox_rolled_back(s->p, sb->correlation_id, sb->plan_id,
						     &(struct evr_args_sandbox_rolled_back){
							     .sandbox_id = sb->id, .checkpoint_id = ckpt, .reason = reason }));
	return 0;
}
