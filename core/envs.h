/* envs: the deployment environments churnops knows without configuration.
 *
 * DESIGN.md's cluster model: staging -> namespace mlops-staging, production
 * -> mlops-production; in each, the rolling deployment and container
 * churn-prediction, the blue-green Service churn-prediction-bg (its
 * "version" selector key names the live colour; deployments
 * churn-prediction-blue and -green), the canary deployment
 * churn-prediction-canary and the Istio VirtualService churn-prediction;
 * images customer-churn-mlops:v{version}. The CLI and the console both
 * start from this table, so they name the same objects.
 */
#ifndef CHURNOPS_ENVS_H
#define CHURNOPS_ENVS_H

#include <stddef.h>

struct envs_env {
	const char *name;
	const char *namespace;
	const char *deployment;     /* rolling (and canary's stable track) */
	const char *container;
	const char *image_template; /* "{version}" is replaced */
	const char *service;        /* blue-green: its selector picks the live colour */
	const char *colour_key;     /* the selector key naming the colour */
	const char *virtualservice; /* canary: route weights */
};

/* The built-in environments, staging first; *N receives their count. The
 * table is static. */
const struct envs_env *envs_defaults(size_t *n);

/* The built-in environment NAME, or NULL. */
const struct envs_env *envs_find(const char *name);

/* The model version in IMAGE per template TMPL ("customer-churn-mlops:v1.2.0"
 * -> "1.2.0"), newly allocated, or NULL when IMAGE does not follow it. */
char *envs_version_from_image(const char *tmpl, const char *image);

/* TMPL with "{version}" replaced by VERSION, newly allocated; NULL when out
 * of memory. */
char *envs_image_for(const char *tmpl, const char *version);

#endif
