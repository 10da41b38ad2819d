/* paths: where churnops keeps its files.
 *
 * Three directories, each following the XDG base directory specification
 * unless CHURNOPS_HOME is set, in which case all three live under it (tests
 * and the demo use this to run hermetically):
 *
 *   data    $CHURNOPS_HOME/data    or $XDG_DATA_HOME/churnops
 *           (default ~/.local/share/churnops): the store
 *   config  $CHURNOPS_HOME/config  or $XDG_CONFIG_HOME/churnops
 *           (default ~/.config/churnops): config.json
 *   state   $CHURNOPS_HOME/state   or $XDG_STATE_HOME/churnops
 *           (default ~/.local/state/churnops): logs, journals
 *
 * An XDG variable that is empty or holds a relative path is ignored, as the
 * specification asks. Nothing here creates a directory: the caller does,
 * when it is about to write (fileio_mkdirs).
 */
#ifndef CHURNOPS_PATHS_H
#define CHURNOPS_PATHS_H

#include "err.h"

/* Each returns a newly allocated path the caller frees, or NULL with E set
 * (EXIT_INPUT) when neither CHURNOPS_HOME, the XDG variable nor HOME gives
 * one. */
char *paths_data_dir(struct err *e);
char *paths_config_dir(struct err *e);
char *paths_state_dir(struct err *e);

#endif
