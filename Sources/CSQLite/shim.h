// Shim over SQLite for Swift: SQLITE_TRANSIENT is a macro with a cast and does not import.
#pragma once
#include <sqlite3.h>

/// sqlite3_bind_blob that copies the bytes (SQLITE_TRANSIENT); a zero-length blob, never NULL, for n == 0.
static inline int feedback_bind_blob(sqlite3_stmt *stmt, int index, const void *bytes, int n) {
    if (n == 0) return sqlite3_bind_zeroblob(stmt, index, 0);
    return sqlite3_bind_blob(stmt, index, bytes, n, SQLITE_TRANSIENT);
}

/// sqlite3_bind_text of `n` bytes, copied (SQLITE_TRANSIENT): the length is given, so a NUL inside the text
/// is kept rather than ending it; an empty text, never NULL, for n == 0.
static inline int feedback_bind_text(sqlite3_stmt *stmt, int index, const char *text, int n) {
    if (n == 0) return sqlite3_bind_text(stmt, index, "", 0, SQLITE_STATIC);
    return sqlite3_bind_text(stmt, index, text, n, SQLITE_TRANSIENT);
}
