/* base64.c: strict RFC 4648 base64 over caller buffers. */
#include "core/base64.h"

static const char enc_table[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

sh_rc base64_encode(const uint8_t *in, size_t len, char *out, size_t cap, size_t *out_len)
{
	size_t need = BASE64_ENCODED_LEN(len);
	if (out_len)
		*out_len = need;
	if (cap < need + 1)
		return SH_E_NOSPACE;
	size_t o = 0, i = 0;
	for (; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = enc_table[v >> 18 & 63];
		out[o++] = enc_table[v >> 12 & 63];
		out[o++] = enc_table[v >> 6 & 63];
		out[o++] = enc_table[v & 63];
	}
	if (len - i == 1) {
		uint32_t v = (uint32_t)in[i] << 16;
		out[o++] = enc_table[v >> 18 & 63];
		out[o++] = enc_table[v >> 12 & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (len - i == 2) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = enc_table[v >> 18 & 63];
		out[o++] = enc_table[v >> 12 & 63];
		out[o++] = enc_table[v >> 6 & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return SH_OK;
}

static int dec_char(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

sh_rc base64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	*out_len = 0;
	if (len % 4 != 0)
		return SH_E_MALFORMED;
	size_t pad = 0;
	if (len >= 1 && in[len - 1] == '=')
		pad++;
	if (len >= 2 && in[len - 2] == '=')
		pad++;
	size_t need = len / 4 * 3 - pad;
	if (cap < need) {
		*out_len = need; /* result.h: SH_E_NOSPACE reports the size needed */
		return SH_E_NOSPACE;
	}
	size_t o = 0;
	for (size_t i = 0; i < len; i += 4) {
		int last = i + 4 == len;
		int v[4];
		for (int k = 0; k < 4; k++) {
			char c = in[i + (size_t)k];
			if (c == '=' && last && k >= 4 - (int)pad) {
				v[k] = 0;
				continue;
			}
			v[k] = dec_char(c);
			if (v[k] < 0)
				return SH_E_MALFORMED;
		}
		uint32_t w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		if (last && pad == 2) {
			if (w & 0xffff)
				return SH_E_MALFORMED; /* non-zero trailing bits */
			out[o++] = (uint8_t)(w >> 16);
		} else if (last && pad == 1) {
			if (w & 0xff)
				return SH_E_MALFORMED;
			out[o++] = (uint8_t)(w >> 16);
			out[o++] = (uint8_t)(w >> 8);
		} else {
			out[o++] = (uint8_t)(w >> 16);
			out[o++] = (uint8_t)(w >> 8);
			out[o++] = (uint8_t)w;
		}
	}
	*out_len = o;
	return SH_OK;
}
