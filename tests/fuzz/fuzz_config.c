/* Fuzz target for core/config's parser (config.json, hand-edited by users
 * and shipped by teams).
 *
 * A configuration that parses names its source, has a non-negative
 * last-known-good period, known strategies only, and environments with
 * names; one that fails fails with EXIT_INPUT and a message naming the
 * source, and leaves the struct at its defaults (nothing half-filled).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_config: %s\n", what);
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config c;
	struct err e = {0};
	int rc = config_parse(&c, (const char *)data, size, "fuzz.json", &e);
	if (rc) {
		check(rc == EXIT_INPUT, "a failure that is not EXIT_INPUT");
		check(strstr(e.msg, "fuzz.json") != NULL || strstr(e.msg, "memory") != NULL,
		      "a message that does not name the source");
		check(!c.path && !c.actor && !c.envs && c.nenvs == 0, "a half-filled config");
		return 0;
	}
	check(c.path && strcmp(c.path, "fuzz.json") == 0, "no source");
	check(c.lkg_after >= 0, "a negative quiet period");
	for (size_t i = 0; i < c.nenvs; i++) {
		const struct config_env *v = &c.envs[i];
		check(v->name && v->name[0], "an environment without a name");
		check(config_env(&c, v->name) != NULL, "an environment that cannot be found");
		check(!v->strategy || !strcmp(v->strategy, "rolling") ||
			      !strcmp(v->strategy, "blue-green") || !strcmp(v->strategy, "canary"),
		      "an unknown strategy");
		check(config_lkg_after(&c, v->name) >= 0, "a negative quiet period");
	}
	(void)config_actor(&c, NULL);
	config_finish(&c);
	check(!c.path && !c.envs, "finish left something");
	return 0;
}
