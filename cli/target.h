/* target: the model service behind --env ENV or --endpoint URL, shared by
 * `churnops smoke` and `churnops loadtest`. */
#ifndef CHURNOPS_CLI_TARGET_H
#define CHURNOPS_CLI_TARGET_H

#include "cli.h"
#include "service.h"

struct cli_target {
	const char *env;        /* --env */
	const char *endpoint;   /* --endpoint */
	const char *kubeconfig; /* --kubeconfig */
	const char *context;    /* --context */
	const char *service;    /* --service: default the environment's deployment name */
	long timeout_ms;
};

/* Opens the service. Exactly one of env and endpoint must be set (a usage
 * error otherwise, already printed, EXIT_INPUT with E untouched). *SERVER
 * (may be NULL; caller frees) receives the API server's URL for --env. */
int cli_target_open(const char *cmd, const struct cli_target *t,
		    struct service **out, char **server, struct err *e);

/* The server URL of the kubeconfig context T names, or NULL when there is
 * none (caller frees). */
char *cli_target_kube_server(const struct cli_target *t);

#endif
