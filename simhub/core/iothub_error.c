/* iothub_error.c: the table of IoT Hub error names, and error filling. */
#include <stdarg.h>
#include <stdio.h>

#include "core/iothub_error.h"

const char *iothub_error_name(enum iothub_error code)
{
	switch (code) {
	case IOTHUB_OK: return "OK";
	case IOTHUB_ARGUMENT_INVALID: return "ArgumentInvalid";
	case IOTHUB_ARGUMENT_NULL: return "ArgumentNull";
	case IOTHUB_FORMAT_ERROR: return "IotHubFormatError";
	case IOTHUB_CONNECTION_CLOSED_ON_NEW_CONNECTION: return "ConnectionForcefullyClosedOnNewConnection";
	case IOTHUB_UNAUTHORIZED_ACCESS: return "IotHubUnauthorizedAccess";
	case IOTHUB_UNAUTHORIZED: return "IotHubUnauthorized";
	case IOTHUB_QUOTA_EXCEEDED: return "IotHubQuotaExceeded";
	case IOTHUB_DEVICE_MAX_QUEUE_DEPTH: return "DeviceMaximumQueueDepthExceeded";
	case IOTHUB_DEVICE_NOT_FOUND: return "DeviceNotFound";
	case IOTHUB_MODULE_NOT_FOUND: return "ModuleNotFound";
	case IOTHUB_DEVICE_NOT_ONLINE: return "DeviceNotOnline";
	case IOTHUB_DEVICE_CONNECTION_CLOSED_REMOTELY: return "DeviceConnectionClosedRemotely";
	case IOTHUB_DEVICE_ALREADY_EXISTS: return "DeviceAlreadyExists";
	case IOTHUB_MODULE_ALREADY_EXISTS: return "ModuleAlreadyExistsOnDevice";
	case IOTHUB_PRECONDITION_FAILED: return "PreconditionFailed";
	case IOTHUB_DEVICE_MESSAGE_LOCK_LOST: return "DeviceMessageLockLost";
	case IOTHUB_MESSAGE_TOO_LARGE: return "MessageTooLarge";
	case IOTHUB_TOO_MANY_MODULES: return "TooManyModulesOnDevice";
	case IOTHUB_THROTTLED: return "ThrottlingException";
	case IOTHUB_THROTTLE_BACKLOG: return "ThrottleBacklogLimitExceeded";
	case IOTHUB_SERVER_ERROR: return "ServerError";
	case IOTHUB_SERVICE_UNAVAILABLE: return "ServiceUnavailable";
	case IOTHUB_GATEWAY_TIMEOUT: return "GatewayTimeout";
	}
	return "ServerError";
}

int iothub_error_http_status(enum iothub_error code)
{
	int status = (int)code / 1000;
	return status >= 400 && status <= 599 ? status : 500;
}

enum iothub_error iothub_err_set(struct iothub_err *err, enum iothub_error code, const char *fmt, ...)
{
	if (err) {
		err->code = code;
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err->message, sizeof err->message, fmt, ap);
		va_end(ap);
	}
	return code;
}
