// Shim over hiredis for Swift: redisCommand is variadic and does not import; commands go through
// redisAppendCommandArgv (pipelined) and redisGetReply.
#pragma once
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>

// hiredis writes with write(2): a server that closed the connection would raise SIGPIPE, whose default
// action ends the process. The Swift connection blocks SIGPIPE on its own thread around each exchange
// (the write then fails with EPIPE, and the context reports it) and takes back a SIGPIPE the exchange
// raised, so the process's signal handling stays as it was.
typedef struct {
    sigset_t previous;
    int wasPending;
} feedback_sigpipe_guard;

static inline void feedback_sigpipe_block(feedback_sigpipe_guard *guard) {
    sigset_t pipe, pending;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    sigemptyset(&pending);
    sigpending(&pending);
    guard->wasPending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, &guard->previous);
}

static inline void feedback_sigpipe_restore(feedback_sigpipe_guard *guard) {
    if (!guard->wasPending) {
        sigset_t pipe, pending;
        sigemptyset(&pipe);
        sigaddset(&pipe, SIGPIPE);
        sigemptyset(&pending);
        sigpending(&pending);
        if (sigismember(&pending, SIGPIPE)) {
            struct timespec now = {0, 0};
            sigtimedwait(&pipe, NULL, &now);
        }
    }
    pthread_sigmask(SIG_SETMASK, &guard->previous, NULL);
}
