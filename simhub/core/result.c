/* result.c: names of sh_rc values for logs and error messages. */
#include "core/result.h"

const char *sh_rc_str(sh_rc rc)
{
	switch (rc) {
	case SH_OK: return "ok";
	case SH_NEED_MORE: return "need-more";
	case SH_E_MALFORMED: return "malformed";
	case SH_E_NOSPACE: return "no-space";
	case SH_E_NOMEM: return "out-of-memory";
	case SH_E_INVALID: return "invalid";
	case SH_E_NOTFOUND: return "not-found";
	case SH_E_EXISTS: return "exists";
	case SH_E_PRECONDITION: return "precondition-failed";
	case SH_E_UNAUTHORIZED: return "unauthorized";
	case SH_E_EXPIRED: return "expired";
	case SH_E_TOOLARGE: return "too-large";
	case SH_E_IO: return "io-error";
	case SH_E_VERSION: return "newer-version";
	case SH_E_STATE: return "bad-state";
	}
	return "unknown";
}
