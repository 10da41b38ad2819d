/* Fuzz target for core/kubeconfig (YAML through libyaml, merging,
 * resolution). Each input is written as a kubeconfig file in a private
 * directory (HOME too, so "~/" paths stay inside) and loaded with its
 * current-context and with a fixed context name. A configuration that loads
 * must be usable: an http(s) server without a trailing '/', a context, a
 * namespace, a certificate and key either both present or both absent, and
 * HTTP options without credentials over plain http. Exec plugins are never
 * run (only kubeconfig_refresh would run them).
 *
 * Inputs naming devices, /proc or /sys are skipped, and so are inputs with a
 * backslash (YAML escapes could spell those names): a tokenFile of
 * /dev/stdin would block the fuzzer, and reading devices says nothing about
 * the parser.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kubeconfig.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static char file[128];

static void check(int cond, const char *what)
{
	if (!cond) {
		fprintf(stderr, "fuzz_kubeconfig: %s\n", what);
		abort();
	}
}

static void setup(void)
{
	if (dir[0])
		return;
	snprintf(dir, sizeof dir, "/tmp/churnops-fuzz-kc-XXXXXX");
	check(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(file, sizeof file, "%s/config", dir);
	setenv("HOME", dir, 1);
	unsetenv("KUBECONFIG");
	unsetenv("KUBERNETES_SERVICE_HOST");
	unsetenv("KUBERNETES_SERVICE_PORT");
}

static void load(const char *context)
{
	struct kubeconfig_options o = { .file = file, .context = context, .sa_dir = dir };
	struct kubeconfig *kc = NULL;
	struct err e = {0};
	int rc = kubeconfig_load(&o, &kc, &e);
	if (rc) {
		check(kc == NULL, "a failed load returned a config");
		check(rc == EXIT_INPUT, "a load failed with another code than EXIT_INPUT");
		check(e.msg[0] != '\0', "a failed load left no message");
		return;
	}
	check(kc->server && (strncmp(kc->server, "https://", 8) == 0 ||
			     strncmp(kc->server, "http://", 7) == 0), "server is not http(s)");
	size_t n = strlen(kc->server);
	check(n <= 8 || kc->server[n - 1] != '/', "server kept a trailing '/'");
	check(kc->context && kc->namespace && kc->file, "context, namespace or file missing");
	check(!(kc->tls.cert_data || kc->tls.cert_file) == !(kc->tls.key_data || kc->tls.key_file),
	      "certificate without key");
	struct http_options ho;
	memset(&ho, 0, sizeof ho);
	kubeconfig_http_options(kc, &ho);
	if (kc->plain_http)
		check(!ho.bearer && !ho.basic_user && !ho.tls.key_data && !ho.tls.key_file,
		      "credentials offered over plain http");
	kubeconfig_destroy(kc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	if (memmem(data, size, "/dev", 4) || memmem(data, size, "/proc", 5) ||
	    memmem(data, size, "/sys", 4) || memchr(data, '\\', size))
		return 0;
	FILE *f = fopen(file, "w");
	check(f != NULL, "cannot write the input file");
	if (size)
		fwrite(data, 1, size, f);
	fclose(f);
	load(NULL);
	load("sim");
	return 0;
}
