// Shim over zlib for Swift: deflateInit2 is a macro and does not import.
#pragma once
#include <zlib.h>

/// Starts a gzip stream (windowBits 15 + 16 selects the gzip wrapper).
static inline int feedback_gzip_init(z_stream *stream, int level) {
    return deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
}
