/*
 * iothub_error.h: IoT Hub's numeric error codes (iothub-protocol.md §8.8), their names and
 * HTTP statuses, and the error value hub operations hand back to the edges. The code is the
 * only thing the edges translate: HTTP status = code / 1000, header iothub-errorcode = name.
 */
#ifndef SH_IOTHUB_ERROR_H
#define SH_IOTHUB_ERROR_H

#include <stddef.h>

enum iothub_error {
	IOTHUB_OK = 0,
	IOTHUB_ARGUMENT_INVALID = 400004,
	IOTHUB_ARGUMENT_NULL = 400005,
	IOTHUB_FORMAT_ERROR = 400006,
	IOTHUB_CONNECTION_CLOSED_ON_NEW_CONNECTION = 400027,
	IOTHUB_UNAUTHORIZED_ACCESS = 401002,
	IOTHUB_UNAUTHORIZED = 401003,
	IOTHUB_QUOTA_EXCEEDED = 403002,
	IOTHUB_DEVICE_MAX_QUEUE_DEPTH = 403004,
	IOTHUB_DEVICE_NOT_FOUND = 404001,
	IOTHUB_MODULE_NOT_FOUND = 404010,
	IOTHUB_DEVICE_NOT_ONLINE = 404103,
	IOTHUB_DEVICE_CONNECTION_CLOSED_REMOTELY = 404104,
	IOTHUB_DEVICE_ALREADY_EXISTS = 409001,
	IOTHUB_MODULE_ALREADY_EXISTS = 409301,
	IOTHUB_PRECONDITION_FAILED = 412001,
	IOTHUB_DEVICE_MESSAGE_LOCK_LOST = 412002,
	IOTHUB_MESSAGE_TOO_LARGE = 413001,
	IOTHUB_TOO_MANY_MODULES = 413003,
	IOTHUB_THROTTLED = 429001,
	IOTHUB_THROTTLE_BACKLOG = 429002,
	IOTHUB_SERVER_ERROR = 500001,
	IOTHUB_SERVICE_UNAVAILABLE = 503001,
	IOTHUB_GATEWAY_TIMEOUT = 504101,
};

/* An operation's failure: IoT Hub code plus a human sentence (and a JSON path when one applies). */
struct iothub_err {
	enum iothub_error code;
	char message[256];
};

/* "DeviceNotFound" etc.; "ServerError" for an unknown code. Static text. */
const char *iothub_error_name(enum iothub_error code);
/* HTTP status of a code (code / 1000); 500 for 0 or unknown. */
int iothub_error_http_status(enum iothub_error code);
/* Fill err (may be NULL) with code and a printf-style message; returns code for chaining. */
enum iothub_error iothub_err_set(struct iothub_err *err, enum iothub_error code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
