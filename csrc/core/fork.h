/* Fork detection without a system call: a counter bumped in every forked child. Objects
 * remember the generation they were made in; a different one means "made by my parent". */
#ifndef ACS_FORK_H
#define ACS_FORK_H

int acs_fork_generation(void);

#endif
