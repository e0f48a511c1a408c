/*
 * identity.c: the identity room's pure rules, starting with the deviceId / moduleId character
 * set of iothub-protocol.md §1.1. Never touches storage, the clock or the network.
 */
#include "core/identity.h"

/*
 * True for the characters IoT Hub allows in a device or module id: ASCII letters and digits
 * plus - . % _ * ? ! ( ) , : = @ $ '. Written as an explicit test rather than isalnum() so
 * the locale can never widen the set.
 */
static bool id_char_ok(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	switch (c) {
	case '-': case '.': case '%': case '_': case '*': case '?': case '!':
	case '(': case ')': case ',': case ':': case '=': case '@': case '$': case '\'':
		return true;
	default:
		return false;
	}
}

sh_rc identity_validate_id(const char *id, size_t len)
{
	if (!id || len == 0 || len > SH_ID_MAX)
		return SH_E_INVALID;
	for (size_t i = 0; i < len; i++) {
		if (!id_char_ok((unsigned char)id[i]))
			return SH_E_INVALID;
	}
	return SH_OK;
}
