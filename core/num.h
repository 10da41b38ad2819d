/* num: numbers read from cells, the same whatever the process locale.
 *
 * CSV cells and typed-in values are read with one grammar everywhere, so a
 * number the trainer accepted is the number the scorer sees:
 *
 *     [spaces] [+|-] (digits [. [digits]] | . digits) [(e|E) [+|-] digits] [spaces]
 *
 * where spaces are blanks and tabs. No hexadecimal, no "inf", no "nan", no
 * thousands separators, and a decimal point, never a comma, whatever
 * setlocale() said: the result is what strtod() returns in the "C" locale,
 * correctly rounded.
 */
#ifndef CHURNOPS_NUM_H
#define CHURNOPS_NUM_H

#include <stdbool.h>

/* Parses the whole of S as a finite decimal number into *OUT. Returns false
 * (leaving *OUT alone) for NULL, an empty or blank string, anything outside
 * the grammar above, or a value too large for a double. A value too small
 * for one rounds to zero or a subnormal, as strtod() does. Thread-safe. */
bool num_parse(const char *s, double *out);

#endif
