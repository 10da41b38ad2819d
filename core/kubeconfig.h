/* kubeconfig: where the cluster is and how to prove who we are.
 *
 * Loading follows kubectl (client-go's clientcmd):
 *   - an explicit file (--kubeconfig) is the only file and must exist;
 *   - else KUBECONFIG, a ':'-separated list, merged: for clusters, users and
 *     contexts the first file that defines a name wins, and current-context
 *     comes from the first file that sets it; missing files are skipped;
 *   - else ~/.kube/config;
 *   - else, inside a pod (KUBERNETES_SERVICE_HOST and _PORT set), the
 *     service account: https://HOST:PORT, its CA, token and namespace.
 * Relative paths in a file (certificate-authority, client-certificate,
 * client-key, tokenFile, an exec command with a '/') are relative to that
 * file's directory. A context's namespace defaults to "default".
 *
 * Credentials: a static token, a tokenFile (re-read every minute and after a
 * 401, as client-go does for rotating tokens), basic auth, client
 * certificates from files or data, or an exec credential plugin
 * (client.authentication.k8s.io/v1 and v1beta1) whose token is cached until
 * its expirationTimestamp. Like kubectl, credentials are only used over
 * https: a plain http:// server (kubectl proxy) gets no Authorization.
 *
 * Every error names the context, the file and what is wrong.
 */
#ifndef CHURNOPS_KUBECONFIG_H
#define CHURNOPS_KUBECONFIG_H

#include <stdbool.h>
#include <time.h>

#include "err.h"
#include "http.h"

#define KUBECONFIG_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"
#define KUBECONFIG_TOKEN_REREAD_SECONDS 60
#define KUBECONFIG_MAX_FILE (4u << 20)

struct kubeconfig_options {
	const char *file;    /* --kubeconfig, or NULL */
	const char *context; /* --context, or NULL for current-context */
	/* The service-account directory for in-cluster use; NULL means
	 * KUBECONFIG_SA_DIR (tests point it elsewhere). */
	const char *sa_dir;
};

struct kubeconfig_exec {
	char *api_version; /* client.authentication.k8s.io/v1 or /v1beta1 */
	char *command;
	char **argv;       /* command first, NULL-terminated */
	char **env;        /* "NAME=VALUE", NULL-terminated, added to ours */
	char *install_hint;
	bool provide_cluster_info; /* pass the cluster in KUBERNETES_EXEC_INFO */
};

/* A resolved context. Everything is owned by the struct; free it with
 * kubeconfig_destroy. Fields are read-only for callers except through the
 * functions below. */
struct kubeconfig {
	char *context;   /* context name, or "in-cluster" */
	char *file;      /* file the context came from, or the SA directory */
	char *cluster;   /* cluster entry name */
	char *user;      /* user entry name */
	char *server;    /* URL without a trailing '/' */
	char *namespace;
	bool plain_http; /* server is http:// (no credentials are sent) */
	bool in_cluster;
	struct http_tls tls; /* owned copies; paths already resolved */

	char *token;      /* current bearer token, or NULL */
	char *token_file; /* re-read periodically when set */
	time_t token_read;
	char *username;
	char *password;
	struct kubeconfig_exec *exec;
	time_t token_expiry; /* exec credential expiry; 0: none given */
	bool exec_done;      /* the plugin ran and its answer is cached */
};

/* Loads and resolves the configuration. Fails with EXIT_INPUT for a missing
 * or malformed file, an unknown context, cluster or user, or unreadable
 * certificate or token files. */
int kubeconfig_load(const struct kubeconfig_options *o, struct kubeconfig **out,
		    struct err *e);
void kubeconfig_destroy(struct kubeconfig *kc);

/* Makes kc->token (and, for an exec plugin, kc->tls client certificate) current:
 * re-reads a token file older than a minute, runs the exec plugin when it
 * has not run or its token expired. FORCE re-reads or re-runs regardless (after
 * a 401). *CHANGED (may be NULL) says whether the credentials changed.
 * Fails with EXIT_BACKEND when the plugin fails, naming the context, the file
 * and the command. */
int kubeconfig_refresh(struct kubeconfig *kc, bool force, bool *changed,
		       struct err *e);

/* HTTP options for this context: TLS settings and credentials (none over
 * plain http). Pointers borrow from KC, so KC must outlive the call to
 * http_client_create. */
void kubeconfig_http_options(const struct kubeconfig *kc, struct http_options *o);

/* "context NAME in FILE", for messages. */
const char *kubeconfig_where(const struct kubeconfig *kc, char *buf, size_t size);

#endif
