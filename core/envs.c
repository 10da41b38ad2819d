#include "envs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct envs_env defaults[] = {
	{"staging", "mlops-staging", "churn-prediction", "churn-prediction",
	 "customer-churn-mlops:v{version}", "churn-prediction-bg", "version",
	 "churn-prediction"},
	{"production", "mlops-production", "churn-prediction", "churn-prediction",
	 "customer-churn-mlops:v{version}", "churn-prediction-bg", "version",
	 "churn-prediction"},
};

const struct envs_env *envs_defaults(size_t *n)
{
	*n = sizeof defaults / sizeof defaults[0];
	return defaults;
}

const struct envs_env *envs_find(const char *name)
{
	for (size_t i = 0; name && i < sizeof defaults / sizeof defaults[0]; i++)
		if (strcmp(defaults[i].name, name) == 0)
			return &defaults[i];
	return NULL;
}

char *envs_version_from_image(const char *tmpl, const char *image)
{
	const char *mark = tmpl ? strstr(tmpl, "{version}") : NULL;
	if (!mark || !image)
		return NULL;
	size_t pre = (size_t)(mark - tmpl);
	const char *suffix = mark + strlen("{version}");
	size_t il = strlen(image), sl = strlen(suffix);
	if (il <= pre + sl || strncmp(image, tmpl, pre) != 0 ||
	    strcmp(image + il - sl, suffix) != 0)
		return NULL;
	return strndup(image + pre, il - pre - sl);
}

char *envs_image_for(const char *tmpl, const char *version)
{
	const char *mark = strstr(tmpl, "{version}");
	char *out = NULL;
	if (!mark)
		return strdup(tmpl);
	if (asprintf(&out, "%.*s%s%s", (int)(mark - tmpl), tmpl, version,
		     mark + strlen("{version}")) < 0)
		return NULL;
	return out;
}
