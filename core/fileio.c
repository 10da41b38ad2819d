#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int fileio_read_all(const char *path, size_t max, char **buf, size_t *len,
		    struct err *e)
{
	bool is_stdin = strcmp(path, "-") == 0;
	FILE *f = is_stdin ? stdin : fopen(path, "rb");
	if (!f)
		return err_errno(e, EXIT_INPUT, errno, "%s", path);
	size_t cap = 4096, n = 0;
	char *b = malloc(cap);
	int rc = 0;
	if (!b) {
		rc = err_set(e, EXIT_INPUT, "%s: out of memory", path);
		goto out;
	}
	for (;;) {
		if (n + 1 >= cap) {
			if (cap > max + 1) {
				rc = err_set(e, EXIT_INPUT,
					     "%s: larger than the limit of %zu bytes",
					     path, max);
				goto out;
			}
			char *nb = realloc(b, cap * 2);
			if (!nb) {
				rc = err_set(e, EXIT_INPUT, "%s: out of memory", path);
				goto out;
			}
			b = nb;
			cap *= 2;
		}
		size_t got = fread(b + n, 1, cap - n - 1, f);
		n += got;
		if (got == 0) {
			if (ferror(f)) {
				rc = err_errno(e, EXIT_INPUT, errno, "%s: read", path);
				goto out;
			}
			break;
		}
	}
	if (n > max) {
		rc = err_set(e, EXIT_INPUT, "%s: larger than the limit of %zu bytes",
			     path, max);
		goto out;
	}
	b[n] = '\0';
	*buf = b;
	*len = n;
	b = NULL;
out:
	free(b);
	if (!is_stdin)
		fclose(f);
	return rc;
}

int fileio_out_open(struct fileio_out *o, const char *path, struct err *e)
{
	memset(o, 0, sizeof *o);
	if (strcmp(path, "-") == 0) {
		o->f = stdout;
		o->is_stdout = true;
		return 0;
	}
	o->path = strdup(path);
	if (!o->path)
		return err_set(e, EXIT_INPUT, "%s: out of memory", path);
	struct stat st;
	if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
		if (S_ISDIR(st.st_mode)) {
			free(o->path);
			o->path = NULL;
			return err_set(e, EXIT_INPUT, "%s: is a directory", path);
		}
		o->f = fopen(path, "wb");
		if (!o->f) {
			int saved = errno;
			free(o->path);
			o->path = NULL;
			return err_errno(e, EXIT_INPUT, saved, "%s", path);
		}
		return 0;
	}
	size_t n = strlen(path) + 32;
	o->tmp = malloc(n);
	if (!o->tmp) {
		free(o->path);
		o->path = NULL;
		return err_set(e, EXIT_INPUT, "%s: out of memory", path);
	}
	snprintf(o->tmp, n, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(o->tmp);
	if (fd < 0) {
		int saved = errno;
		free(o->tmp);
		free(o->path);
		memset(o, 0, sizeof *o);
		return err_errno(e, EXIT_INPUT, saved, "%s", path);
	}
	fchmod(fd, 0644);
	o->f = fdopen(fd, "wb");
	if (!o->f) {
		int saved = errno;
		close(fd);
		unlink(o->tmp);
		free(o->tmp);
		free(o->path);
		memset(o, 0, sizeof *o);
		return err_errno(e, EXIT_INPUT, saved, "%s", path);
	}
	return 0;
}

int fileio_out_commit(struct fileio_out *o, struct err *e)
{
	int rc = 0;
	if (o->is_stdout) {
		if (fflush(stdout) != 0 || ferror(stdout))
			rc = err_errno(e, EXIT_INPUT, errno, "standard output");
		memset(o, 0, sizeof *o);
		return rc;
	}
	if (!o->f)
		return err_set(e, EXIT_INPUT, "output not open");
	const char *name = o->path;
	if (fflush(o->f) != 0 || ferror(o->f))
		rc = err_errno(e, EXIT_INPUT, errno, "%s: write", name);
	if (!rc && o->tmp && fsync(fileno(o->f)) != 0)
		rc = err_errno(e, EXIT_INPUT, errno, "%s: fsync", name);
	if (fclose(o->f) != 0 && !rc)
		rc = err_errno(e, EXIT_INPUT, errno, "%s: close", name);
	o->f = NULL;
	if (o->tmp) {
		if (!rc && rename(o->tmp, o->path) != 0)
			rc = err_errno(e, EXIT_INPUT, errno, "%s: rename", name);
		if (rc)
			unlink(o->tmp);
	}
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof *o);
	return rc;
}

void fileio_out_abort(struct fileio_out *o)
{
	if (o->is_stdout) {
		fflush(stdout);
	} else if (o->f) {
		fclose(o->f);
		if (o->tmp)
			unlink(o->tmp);
	}
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof *o);
}

int fileio_write_all(const char *path, const char *text, size_t len,
		     struct err *e)
{
	struct fileio_out o;
	int rc = fileio_out_open(&o, path, e);
	if (rc)
		return rc;
	if (fwrite(text, 1, len, o.f) != len) {
		rc = err_errno(e, EXIT_INPUT, errno, "%s: write", path);
		fileio_out_abort(&o);
		return rc;
	}
	return fileio_out_commit(&o, e);
}

int fileio_mkdirs(const char *path, struct err *e)
{
	char *p = strdup(path);
	if (!p)
		return err_set(e, EXIT_INPUT, "%s: out of memory", path);
	int rc = 0;
	for (char *s = p + 1;; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(p, 0755) != 0 && errno != EEXIST) {
				rc = err_errno(e, EXIT_INPUT, errno, "%s", p);
				break;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	if (!rc) {
		struct stat st;
		if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
			rc = err_set(e, EXIT_INPUT, "%s: not a directory", path);
	}
	free(p);
	return rc;
}

bool fileio_exists(const char *path)
{
	return access(path, F_OK) == 0;
}
