/* sanitize: text from outside (data files, servers) made safe to draw.
 *
 * Nothing that came from a file or a server reaches the terminal as is: a
 * cell holding "\x1b]52;..." or a right-to-left override would otherwise
 * restyle the console, move its cursor, write to the clipboard or make text
 * lie about its order. The rules, applied to bytes as UTF-8:
 *
 *   - C0 controls (including TAB, CR, LF), DEL and ESC become "\xNN";
 *   - C1 controls (U+0080..U+009F), bidirectional overrides, embeddings,
 *     isolates and marks, zero-width spaces, joiners and the byte order
 *     mark (U+200B..U+200D, U+2060..U+2064, U+FEFF, U+180E), and code
 *     points the C library calls unprintable (wcwidth() < 0) become
 *     "\uXXXX";
 *   - a byte that does not start a valid, shortest-form UTF-8 sequence (or a
 *     surrogate, or a code point above U+10FFFF) becomes "\xNN";
 *   - a backslash becomes "\\", so an escape shown is never ambiguous with
 *     text that merely looks like one.
 *
 * Widths are display columns as wcwidth() reports them, so the caller must
 * have set a UTF-8 LC_CTYPE (otherwise every non-ASCII character is
 * escaped, which is safe but ugly). Nothing here allocates except
 * sanitize_dup().
 */
#ifndef CHURNOPS_SANITIZE_H
#define CHURNOPS_SANITIZE_H

#include <stdbool.h>
#include <stddef.h>

/* Writes the sanitised form of SRC[0..LEN) into OUT (OUTSIZE bytes, always
 * NUL-terminated when OUTSIZE > 0). Stops at a character boundary when OUT
 * is full, never in the middle of an escape or a UTF-8 sequence. Returns the
 * number of bytes the whole sanitised text needs, without the NUL (as
 * snprintf does), so OUTSIZE > return value means nothing was cut. */
size_t sanitize_text(const char *src, size_t len, char *out, size_t outsize);

/* As sanitize_text(), except that a backslash is copied as it is: what the
 * console draws. Text reaching a view is often sanitised already (core's
 * error messages escape a server's words, so the command line prints them
 * safely), and escaping it again would show "\\x1b" for one ESC. Whatever
 * a terminal would interpret is still escaped; the price is that a literal
 * "\x1b" in the text looks like an escaped ESC on the screen. */
size_t sanitize_display(const char *src, size_t len, char *out, size_t outsize);

/* The sanitised form of the NUL-terminated S in a new string the caller
 * frees; NULL when out of memory. S NULL gives NULL. */
char *sanitize_dup(const char *s);

/* True when S (NUL-terminated) is already safe: sanitize_text() would copy
 * it unchanged. */
bool sanitize_is_clean(const char *s);

/* Display width, in columns, of the clean text S (as produced by
 * sanitize_text()). */
int sanitize_width(const char *s);

/* Clips the clean text S to at most COLS display columns: returns the byte
 * length of the longest prefix that fits (a double-width character that would
 * straddle the edge is left out) and stores its width in *WIDTH if non-NULL. */
size_t sanitize_clip(const char *s, int cols, int *width);

#endif
