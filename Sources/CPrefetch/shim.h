// The CPU's prefetch hint for Swift, which has none: a load of `address` started early, so that a hash
// table probe a few events later finds its cache line there. A hint only: any address is allowed.
#pragma once

static inline void feedback_prefetch(const void *address) { __builtin_prefetch(address, 1, 3); }
