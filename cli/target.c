/* The model service a smoke or load test talks to: --env ENV through the
 * API server's service proxy (kubeconfig, context, the environment's
 * namespace and service), or --endpoint URL directly. */
#include "target.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envs.h"
#include "kubeconfig.h"

int cli_target_open(const char *cmd, const struct cli_target *t,
		    struct service **out, char **server, struct err *e)
{
	*out = NULL;
	if (server)
		*server = NULL;
	if (!t->env == !t->endpoint)
		return cli_usage_error(cmd, "give --env ENV or --endpoint URL (one of them)");
	if (t->endpoint) {
		if (t->service)
			return cli_usage_error(cmd, "--service needs --env (an --endpoint "
					       "URL already names the service)");
		return service_open_endpoint(t->endpoint, t->timeout_ms, out, e);
	}
	const struct envs_env *env = envs_find(t->env);
	if (!env)
		return cli_usage_error(cmd, "--env: unknown environment '%s' (staging or production)",
				       t->env);
	struct kubeconfig_options ko = { .file = t->kubeconfig, .context = t->context };
	struct kubeconfig *kc = NULL;
	int rc = kubeconfig_load(&ko, &kc, e);
	if (rc)
		return rc;
	rc = service_open_kube(kc, env->namespace, t->service ? t->service : env->deployment,
			       t->timeout_ms, out, e);
	if (rc == 0 && server && !(*server = strdup(kc->server))) {
		service_destroy(*out);
		*out = NULL;
		rc = err_set(e, EXIT_BACKEND, "out of memory");
	}
	kubeconfig_destroy(kc);
	return rc;
}

char *cli_target_kube_server(const struct cli_target *t)
{
	struct kubeconfig_options ko = { .file = t->kubeconfig, .context = t->context };
	struct kubeconfig *kc = NULL;
	struct err ignored;
	char *server = NULL;
	if (kubeconfig_load(&ko, &kc, &ignored) == 0)
		server = strdup(kc->server);
	kubeconfig_destroy(kc);
	return server;
}
