// Intel ISA-L's igzip for Swift: whole-buffer DEFLATE at its level 1, with a helper that hides the level
// buffer (its size is a macro expression Swift cannot import).
#pragma once
#include <isa-l/igzip_lib.h>
#include <stdint.h>
#include <stdlib.h>

/// Compresses `count` bytes into `out` (room for `capacity`) as one gzip member (`gzip` non-zero) or a raw
/// DEFLATE stream. Returns the bytes written, or 0 when the output did not fit, the input is 4 GiB or more,
/// or memory ran out.
static inline size_t feedback_isal_compress(
    const uint8_t *input, size_t count, uint8_t *out, size_t capacity, int gzip) {
    if (count > UINT32_MAX || capacity > UINT32_MAX) return 0;
    uint8_t *level_buffer = malloc(ISAL_DEF_LVL1_DEFAULT);
    if (level_buffer == NULL) return 0;
    struct isal_zstream stream;
    isal_deflate_stateless_init(&stream);
    stream.level = 1;
    stream.level_buf = level_buffer;
    stream.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
    stream.gzip_flag = gzip ? IGZIP_GZIP : IGZIP_DEFLATE;
    stream.end_of_stream = 1;
    stream.flush = NO_FLUSH;
    stream.next_in = (uint8_t *)input;
    stream.avail_in = (uint32_t)count;
    stream.next_out = out;
    stream.avail_out = (uint32_t)capacity;
    int result = isal_deflate_stateless(&stream);
    free(level_buffer);
#if defined(__x86_64__)
    // ISA-L's AVX-512 code returns with the vector registers' upper halves in use, and the thread's next SSE
    // code (Swift's Double formatting, on the pool thread that compressed a file) then ran several times
    // slower: cleared here, as compilers do after their own AVX code.
    if (__builtin_cpu_supports("avx")) __asm__ volatile("vzeroupper");
#endif
    return result == COMP_OK ? stream.total_out : 0;
}
