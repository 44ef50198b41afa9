/* Error text: evr_strerror for codes, evr_fail to fill a struct evr_err with a full sentence. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "ring_internal.h"

const char *evr_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case 0: return "success";
	case EINVAL: return "invalid argument";
	case EEXIST: return "a ring with that name already exists";
	case ENOENT: return "no such ring";
	case EACCES: return "permission denied";
	case EPERM: return "operation not permitted";
	case EPROTO: return "ring header, version or schema mismatch";
	case EAGAIN: return "record dropped: slot busy or already reused";
	case ENOSPC: return "no space: the producer table or /dev/shm is full";
	case ENOMEM: return "out of memory";
	case EFAULT: return "ring segment was truncated or replaced";
	case EUCLEAN: return "ring corrupted (a lane head moved backwards or jumped, or the header vanished)";
	case ENAMETOOLONG: return "ring name too long";
	case ENOTSUP: return "not supported on this machine";
	case EBADF: return "wrong role for this operation";
	case EFBIG: return "ring would be too large";
	default: return "unknown error";
	}
}

int evr_fail(struct evr_err *err, int code, const char *fmt, ...)
{
	if (err) {
		err->code = code;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof err->msg, fmt, ap);
		va_end(ap);
	}
	return code;
}
