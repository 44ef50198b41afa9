/* Sessions: a session is created for a user, then carries messages (numbered from 1) until closed. */
#include <errno.h>
#include <string.h>

#include "services.h"
#include <evring/platform.h>

int evr_session_create(struct evr_svc *s, struct evr_session *se, uint64_t id, uint64_t corr, const char *user)
{
	if (!id || !user || !*user)
		return -EINVAL;
	*se = (struct evr_session){ .id = id, .correlation_id = corr, .next_message_id = 1, .open = true };
	evr_svc_note(s, EVR_SESSION_CREATED, evr_emit_session_created(s->p, corr, 0,
						 &(struct evr_args_session_created){ .session_id = id, .user = user }));
	return 0;
}

int evr_session_send(struct evr_svc *s, struct evr_session *se, const char *role, uint32_t tokens)
{
	if (!se->open)
		return -EPERM;
	if (!role || (strcmp(role, "user") && strcmp(role, "assistant") && strcmp(role, "system") &&
		      strcmp(role, "tool")))
		return -EINVAL;
	evr_svc_note(s, EVR_SESSION_MESSAGE_SENT, evr_emit_session_message_sent(s->p, se->correlation_id, 0,
						      &(struct evr_args_session_message_sent){
							      .session_id = se->id, .message_id = se->next_message_id++,
							      .tokens = tokens, .role = role }));
	return 0;
}

void evr_session_close(struct evr_session *se)
{
	se->open = false;
}
