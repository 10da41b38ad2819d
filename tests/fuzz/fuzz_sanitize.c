/* Fuzz target for core/sanitize: text from files and servers made safe to
 * draw.
 *
 * For any bytes, the sanitised text holds no C0 control (ESC, TAB, CR, LF
 * included) or DEL byte, is valid UTF-8 with no C1 control and no
 * bidirectional override, embedding, isolate or mark, and reads back as
 * clean (sanitize_is_clean) once its escapes' backslashes are accounted
 * for. A cut (small OUTSIZE) output is a prefix of the whole one, cut at a
 * piece boundary, and the return value is always the whole length.
 * sanitize_clip never exceeds the columns asked for, cuts at a character
 * boundary and agrees with sanitize_width. sanitize_display's output is as
 * safe, with the input's backslashes copied as they are. LC_CTYPE is C.UTF-8, as the
 * console sets it.
 */
#include <locale.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitize.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_sanitize: %s\n", what);
		abort();
	}
}

/* Length of the valid UTF-8 sequence at P (N bytes left) and its code
 * point; 0 when invalid. */
static size_t decode(const unsigned char *p, size_t n, uint32_t *cp)
{
	if (p[0] < 0x80) {
		*cp = p[0];
		return 1;
	}
	size_t len = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc0 ? 2 : 0;
	if (!len || len > n || p[0] > 0xf4)
		return 0;
	uint32_t v = p[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
	if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

static bool bidi_or_c1(uint32_t cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x061c || cp == 0x200e || cp == 0x200f ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* With RAW_BACKSLASH (sanitize_display) a backslash is the input's own and
 * starts no escape. */
static void check_safe_as(const char *s, size_t n, bool raw_backslash)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < n;) {
		check(p[i] >= 0x20 && p[i] != 0x7f, "a raw control byte in the output");
		uint32_t cp;
		size_t len = decode(p + i, n - i, &cp);
		check(len > 0, "invalid UTF-8 in the output");
		check(!bidi_or_c1(cp), "a C1 control or bidi format character in the output");
		if (cp == '\\' && !raw_backslash) {
			check(i + 1 < n, "a lone backslash at the end");
			unsigned char c = p[i + 1];
			check(c == '\\' || c == 'x' || c == 'u' || c == 'U', "an unknown escape");
			i += 2;
			continue;
		}
		i += len;
	}
}

static void check_safe(const char *s, size_t n)
{
	check_safe_as(s, n, false);
}

/* sanitize_display: the same safety, backslashes copied, the same cut
 * rules. */
static void check_display(const char *src, size_t size)
{
	size_t need = sanitize_display(src, size, NULL, 0);
	char *full = malloc(need + 1);
	check(full != NULL, "malloc");
	check(sanitize_display(src, size, full, need + 1) == need, "display: the length changed");
	check(strlen(full) == need, "display: the output is not the length returned");
	check_safe_as(full, need, true);
	size_t cuts[] = {1, 3, 9, size / 2 + 1};
	for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
		char *cut = malloc(cuts[k]);
		check(cut != NULL, "malloc");
		check(sanitize_display(src, size, cut, cuts[k]) == need,
		      "display: a cut changes the length");
		size_t n = strlen(cut);
		check(n < cuts[k] && memcmp(cut, full, n) == 0, "display: a cut is not a prefix");
		check_safe_as(cut, n, true);
		free(cut);
	}
	free(full);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	if (!init) {
		if (!setlocale(LC_CTYPE, "C.UTF-8"))
			setlocale(LC_CTYPE, "en_US.UTF-8");
		init = true;
	}
	const char *src = (const char *)data;
	size_t need = sanitize_text(src, size, NULL, 0);
	check(need >= size, "the sanitised text is shorter than the input");
	char *full = malloc(need + 1);
	check(full != NULL, "malloc");
	check(sanitize_text(src, size, full, need + 1) == need, "the length changed");
	check(strlen(full) == need, "the output is not the length returned");
	check_safe(full, need);

	/* Cut outputs: a prefix, safe in itself, never mid-escape. */
	size_t cuts[] = {1, 2, 5, 16, size / 2 + 1};
	for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
		size_t outsize = cuts[k];
		char *cut = malloc(outsize);
		check(cut != NULL, "malloc");
		check(sanitize_text(src, size, cut, outsize) == need, "a cut changes the length");
		size_t n = strlen(cut);
		check(n < outsize && n <= need && memcmp(cut, full, n) == 0,
		      "a cut output is not a prefix");
		check_safe(cut, n);
		free(cut);
	}

	/* The whole output, as a string, for the clean-text functions. */
	if (memchr(src, '\0', size) == NULL) {
		char *z = malloc(size + 1);
		check(z != NULL, "malloc");
		memcpy(z, src, size);
		z[size] = '\0';
		char *dup = sanitize_dup(z);
		check(dup && strcmp(dup, full) == 0, "sanitize_dup differs from sanitize_text");
		check(sanitize_is_clean(z) == (strcmp(z, full) == 0),
		      "sanitize_is_clean disagrees with sanitize_text");
		free(dup);
		free(z);
	}

	int total = sanitize_width(full);
	check(total >= 0, "a negative width");
	int cols_list[] = {0, 1, 2, 3, 7, 20, total - 1, total, total + 1};
	for (size_t k = 0; k < sizeof cols_list / sizeof cols_list[0]; k++) {
		int cols = cols_list[k];
		int w = -1;
		size_t n = sanitize_clip(full, cols, &w);
		check(n <= need, "a clip longer than the text");
		check(w >= 0 && (cols < 0 ? w == 0 : w <= cols), "a clip wider than asked");
		if (n < need) {
			uint32_t cp;
			check(decode((const unsigned char *)full + n, need - n, &cp) > 0,
			      "a clip cut inside a character");
		} else {
			check(w == total, "a whole clip's width is not the text's");
		}
		char *pre = strndup(full, n);
		check(pre != NULL, "strndup");
		check(sanitize_width(pre) == w, "a clip's width is not its prefix's width");
		free(pre);
	}
	free(full);
	check_display(src, size);
	return 0;
}
