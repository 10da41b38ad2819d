/* card: the model card, in Markdown, from what churnops knows about an
 * artifact.
 *
 * Sections: model details (type, version, sha256, library version,
 * objective, features, training parameters), intended use and users,
 * training data, evaluation (hold-out and cross-validation from eval.json;
 * test-set metrics, calibration bins and Brier score from a validate
 * report), segments, fairness, business impact, drift at training time,
 * limitations, and the checklist with its statuses and sign-offs. A section
 * whose input was not given says so and how to get it, rather than being
 * left out, so a reader can tell "not measured" from "fine".
 *
 * The card names the artifact's sha256: that is how the checklist's
 * model_card item knows a card belongs to this artifact and not to an
 * earlier one.
 */
#ifndef CHURNOPS_CARD_H
#define CHURNOPS_CARD_H

#include <stddef.h>

#include <cjson/cJSON.h>

#include "err.h"
#include "schema.h"
#include "store.h"

struct card_input {
	const char *model_dir;
	const char *version;      /* --model-version */
	const char *model_type;   /* --model-type, "XGBoost Classifier" */
	const char *sha256;
	const char *library_version;
	const char *objective;
	const struct schema *schema;
	const cJSON *eval;        /* eval.json; NULL when absent */
	const cJSON *report;      /* a validate --json report; may be NULL */
	const char *report_source; /* where REPORT came from, for the text */
	const cJSON *drift;       /* a drift --json report; may be NULL */
	const struct store_signoff *signoffs;
	size_t nsignoffs;
};

/* Renders the card into *OUT (NUL-terminated, the caller frees). */
int card_render(const struct card_input *in, char **out, struct err *e);

#endif
