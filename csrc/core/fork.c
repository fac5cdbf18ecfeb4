#include "fork.h"

#include <pthread.h>
#include <stdatomic.h>

static atomic_int generation;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
    atomic_fetch_add(&generation, 1);
}

static void watch_forks(void)
{
    pthread_atfork(NULL, NULL, on_fork_child);
}

int acs_fork_generation(void)
{
    pthread_once(&once, watch_forks);
    return atomic_load_explicit(&generation, memory_order_relaxed);
}
