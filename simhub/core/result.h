/*
 * result.h: the one result type of simhub's code, sh_rc.
 * 0 is success; failures are negative. Wire codes (CONNACK, HTTP status, IoT Hub error
 * numbers) are chosen from these at the edges, never here.
 */
#ifndef SH_RESULT_H
#define SH_RESULT_H

typedef enum sh_rc {
	SH_OK = 0,
	SH_NEED_MORE = 1,        /* incremental parser: feed more bytes */
	SH_E_MALFORMED = -1,     /* input does not follow its grammar */
	SH_E_NOSPACE = -2,       /* caller buffer too small; the needed size is reported */
	SH_E_NOMEM = -3,         /* allocation failed */
	SH_E_INVALID = -4,       /* well-formed but not allowed (bad id, bad value, limit) */
	SH_E_NOTFOUND = -5,      /* no such device, module, policy, row */
	SH_E_EXISTS = -6,        /* already exists */
	SH_E_PRECONDITION = -7,  /* etag mismatch */
	SH_E_UNAUTHORIZED = -8,  /* credentials refused */
	SH_E_EXPIRED = -9,       /* token or message past its expiry */
	SH_E_TOOLARGE = -10,     /* over a size limit */
	SH_E_IO = -11,           /* storage or OS failure */
	SH_E_VERSION = -12,      /* data from a newer simhub */
	SH_E_STATE = -13,        /* call not valid in the current state */
} sh_rc;

/* Short stable name of a result, for logs ("malformed", "not-found", ...). */
const char *sh_rc_str(sh_rc rc);

#endif
