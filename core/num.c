#include "num.h"

#include <errno.h>
#include <float.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* strtod in the "C" locale. newlocale("C") only fails when memory is short
 * at the first call; plain strtod() is then right unless the program also
 * switched LC_NUMERIC, which is the best that can be done. */
static double strtod_c(const char *s, char **end)
{
	pthread_once(&c_locale_once, c_locale_init);
	if (c_locale != (locale_t)0)
		return strtod_l(s, end, c_locale);
	return strtod(s, end);
}

/* Exact powers of ten: every one up to 1e22 is a double without rounding. */
static const double pow10_exact[] = {
	1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
	1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Checks the grammar in one pass and, for the common short numbers, computes
 * the value on the way (Clinger's fast path: when the digits fit in 53 bits
 * and the power of ten is exact, one multiplication or division is correctly
 * rounded). Everything else goes to strtod, whose end pointer must agree
 * with the grammar's. */
bool num_parse(const char *s, double *out)
{
	if (!s)
		return false;
	const char *p = s;
	while (*p == ' ' || *p == '\t')
		p++;
	const char *start = p;
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';

	uint64_t mant = 0;
	int sig = 0;        /* significant digits taken into mant */
	bool exact = true;  /* no nonzero digit was dropped */
	int dropped = 0;    /* integer digits beyond what mant holds */
	int frac = 0;       /* fraction digits taken into mant */
	int ndigits = 0;
	for (; is_digit(*p); p++, ndigits++) {
		if (sig < 19) {
			mant = mant * 10 + (uint64_t)(*p - '0');
			if (mant)
				sig++;
		} else {
			dropped++;
			exact = false;
		}
	}
	if (*p == '.') {
		p++;
		for (; is_digit(*p); p++, ndigits++) {
			if (sig < 19) {
				mant = mant * 10 + (uint64_t)(*p - '0');
				if (mant)
					sig++;
				frac++;
			} else {
				exact = false;
			}
		}
	}
	if (ndigits == 0)
		return false;
	long exp10 = 0;
	if (*p == 'e' || *p == 'E') {
		p++;
		bool eneg = false;
		if (*p == '+' || *p == '-')
			eneg = *p++ == '-';
		if (!is_digit(*p))
			return false;
		for (; is_digit(*p); p++)
			if (exp10 < 100000)
				exp10 = exp10 * 10 + (*p - '0');
		if (eneg)
			exp10 = -exp10;
	}
	const char *num_end = p;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p != '\0')
		return false;

	exp10 += dropped - frac;
	double v;
#if FLT_EVAL_METHOD == 0
	if (exact && mant <= (UINT64_C(1) << 53) && exp10 >= -22 && exp10 <= 22) {
		v = (double)mant;
		if (exp10 < 0)
			v /= pow10_exact[-exp10];
		else
			v *= pow10_exact[exp10];
		*out = neg ? -v : v;
		return true;
	}
	if (mant == 0 && exact) {
		*out = neg ? -0.0 : 0.0;
		return true;
	}
#endif
	char *end;
	int saved = errno;
	v = strtod_c(start, &end);
	errno = saved;
	if (end != num_end || !isfinite(v))
		return false;
	*out = v;
	return true;
}
