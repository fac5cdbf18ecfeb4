/* A unix socket that gets the completion pipe's wake-up bytes too, for event loops that can
 * watch only sockets they connect themselves (nginx's cosockets cannot adopt a pipe): the loop
 * connects to a listener made here, in a private directory, and the accepted end becomes the
 * notify's signal fd. Lua thread only. */
#ifndef ACS_WAKE_H
#define ACS_WAKE_H

#include <stddef.h>

#include "notify.h"

typedef struct acs_wake_listener acs_wake_listener;

/* A listening socket at a fresh path (in $TMPDIR or /tmp, directory mode 0700). */
acs_wake_listener *acs_wake_listen(char *err, size_t errlen);
const char *acs_wake_path(const acs_wake_listener *w);

/* Accepts the connection this process made to the path (any other is closed) and makes it
 * n's signal fd, replacing the previous one in place. Then removes the path: nothing else can
 * connect. 0, or -1 with err. */
int acs_wake_accept(acs_wake_listener *w, acs_notify *n, char *err, size_t errlen);

/* Closes the listener, removes its path and directory; frees w. NULL is fine. */
void acs_wake_close(acs_wake_listener *w);

/* Shuts n's signal socket down: the peer reads end-of-file, later bytes go nowhere. */
void acs_wake_shutdown(acs_notify *n);

#endif
