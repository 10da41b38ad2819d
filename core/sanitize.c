#include "sanitize.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

/* Decodes one UTF-8 sequence at P (N bytes available). Returns its length
 * and the code point, or 0 when the bytes are not a valid shortest-form
 * sequence of a scalar value. */
static size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
	unsigned char c = p[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xe0) == 0xc0) {
		len = 2, v = c & 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, v = c & 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4, v = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

/* Code points shown as \uXXXX although they are valid: C1 controls, the
 * bidirectional formatting characters, which reorder the text around them,
 * and the invisible zero-width ones (spaces, joiners, the byte order mark),
 * which make two different names look the same. */
static bool is_hidden_format(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x180e ||
	       (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2060 && cp <= 0x2064) || (cp >= 0x2066 && cp <= 0x2069) ||
	       cp == 0xfeff;
}

static int cp_width(uint32_t cp)
{
	if (cp < 0x80)
		return cp >= 0x20 && cp < 0x7f ? 1 : -1;
	if (is_hidden_format(cp))
		return -1;
	return wcwidth((wchar_t)cp);
}

/* The sanitised spelling of the character at P: either the bytes themselves
 * (returns 0 and sets *USED) or an escape written into ESC (returns its
 * length). A backslash is doubled unless KEEP_BACKSLASH. */
static size_t next_piece(const unsigned char *p, size_t n, size_t *used,
			 char esc[16], bool keep_backslash)
{
	uint32_t cp;
	size_t len = utf8_decode(p, n, &cp);
	if (len == 0) {
		*used = 1;
		return (size_t)snprintf(esc, 16, "\\x%02x", p[0]);
	}
	*used = len;
	if (cp == '\\' && !keep_backslash) {
		memcpy(esc, "\\\\", 3);
		return 2;
	}
	if (cp_width(cp) >= 0)
		return 0;
	if (cp < 0x80)
		return (size_t)snprintf(esc, 16, "\\x%02x", (unsigned)cp);
	return (size_t)snprintf(esc, 16, cp > 0xffff ? "\\U%08x" : "\\u%04x",
				(unsigned)cp);
}

static size_t sanitize_into(const char *src, size_t len, char *out, size_t outsize,
			    bool keep_backslash)
{
	const unsigned char *p = (const unsigned char *)src;
	size_t need = 0, at = 0;
	bool full = false;
	for (size_t i = 0; i < len;) {
		char esc[16];
		size_t used;
		size_t elen = next_piece(p + i, len - i, &used, esc, keep_backslash);
		const char *piece = elen ? esc : src + i;
		size_t plen = elen ? elen : used;
		if (!full && at + plen < outsize) {
			memcpy(out + at, piece, plen);
			at += plen;
		} else {
			full = true;
		}
		need += plen;
		i += used;
	}
	if (outsize > 0)
		out[at] = '\0';
	return need;
}

size_t sanitize_text(const char *src, size_t len, char *out, size_t outsize)
{
	return sanitize_into(src, len, out, outsize, false);
}

size_t sanitize_display(const char *src, size_t len, char *out, size_t outsize)
{
	return sanitize_into(src, len, out, outsize, true);
}

char *sanitize_dup(const char *s)
{
	if (!s)
		return NULL;
	size_t len = strlen(s);
	size_t need = sanitize_text(s, len, NULL, 0);
	char *out = malloc(need + 1);
	if (out)
		sanitize_text(s, len, out, need + 1);
	return out;
}

bool sanitize_is_clean(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		char esc[16];
		size_t used;
		if (next_piece(p + i, n - i, &used, esc, false))
			return false;
		i += used;
	}
	return true;
}

size_t sanitize_clip(const char *s, int cols, int *width)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), i = 0;
	int w = 0;
	while (i < n) {
		uint32_t cp;
		size_t len = utf8_decode(p + i, n - i, &cp);
		int cw = len ? cp_width(cp) : 1;
		if (len == 0)
			len = 1;
		if (cw < 0)
			cw = 1;
		if (w + cw > cols)
			break;
		w += cw;
		i += len;
	}
	if (width)
		*width = w;
	return i;
}

int sanitize_width(const char *s)
{
	int w;
	sanitize_clip(s, 1 << 30, &w);
	return w;
}
