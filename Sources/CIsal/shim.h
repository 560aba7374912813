// Intel ISA-L's igzip for Swift: DEFLATE at its level 1, whole-buffer or as a gzip stream fed piece by piece,
// with helpers that hide the level buffer (its size is a macro expression Swift cannot import) and the
// stream's state.
#pragma once
#include <isa-l/igzip_lib.h>
#include <stdint.h>
#include <stdlib.h>

/// Compresses `count` bytes into `out` (room for `capacity`) as one gzip member (`gzip` non-zero) or a raw
/// DEFLATE stream. Returns the bytes written, or 0 when the output did not fit, the input is 4 GiB or more,
/// or memory ran out.
static inline void feedback_isal_clear_upper_vector_state(void) {
#if defined(__x86_64__)
    // ISA-L's AVX-512 code returns with the vector registers' upper halves in use, and the thread's next SSE
    // code (Swift's Double formatting, on the pool thread that compressed a file) then ran several times
    // slower: cleared here, as compilers do after their own AVX code.
    if (__builtin_cpu_supports("avx")) __asm__ volatile("vzeroupper");
#endif
}

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
    feedback_isal_clear_upper_vector_state();
    return result == COMP_OK ? stream.total_out : 0;
}

/// A gzip member compressed piece by piece at level 1: the stream's state and its level buffer.
typedef struct feedback_isal_gzip {
    struct isal_zstream stream;
    uint8_t level_buffer[ISAL_DEF_LVL1_DEFAULT];
} feedback_isal_gzip;

/// A new stream, or NULL when memory ran out. Free it with `free`.
static inline feedback_isal_gzip *feedback_isal_gzip_new(void) {
    feedback_isal_gzip *gzip = malloc(sizeof(feedback_isal_gzip));
    if (gzip == NULL) return NULL;
    isal_deflate_init(&gzip->stream);
    gzip->stream.level = 1;
    gzip->stream.level_buf = gzip->level_buffer;
    gzip->stream.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
    gzip->stream.gzip_flag = IGZIP_GZIP;
    gzip->stream.flush = NO_FLUSH;
    gzip->stream.end_of_stream = 0;
    return gzip;
}

/// Compresses up to `count` bytes of `input` (`last`: the stream ends with them) into `out`, room for
/// `capacity`. Returns the bytes written, and sets `consumed` to the input bytes taken; -1 on an error. Call
/// again with the rest (and more room) until all input is taken and, after the last, the stream is finished.
static inline long feedback_isal_gzip_write(
    feedback_isal_gzip *gzip, const uint8_t *input, size_t count, uint8_t *out, size_t capacity, int last,
    size_t *consumed) {
    if (count > UINT32_MAX) count = UINT32_MAX;
    if (capacity > UINT32_MAX) capacity = UINT32_MAX;
    gzip->stream.next_in = (uint8_t *)input;
    gzip->stream.avail_in = (uint32_t)count;
    gzip->stream.next_out = out;
    gzip->stream.avail_out = (uint32_t)capacity;
    gzip->stream.end_of_stream = last ? 1 : 0;
    int result = isal_deflate(&gzip->stream);
    feedback_isal_clear_upper_vector_state();
    *consumed = count - gzip->stream.avail_in;
    return result == COMP_OK ? (long)(capacity - gzip->stream.avail_out) : -1;
}

/// Whether the stream has written its end (the gzip trailer) after its last input.
static inline int feedback_isal_gzip_finished(const feedback_isal_gzip *gzip) {
    return gzip->stream.internal_state.state == ZSTATE_END;
}
