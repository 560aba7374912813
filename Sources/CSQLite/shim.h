// Shim over SQLite for Swift: SQLITE_TRANSIENT is a macro with a cast and does not import.
#pragma once
#include <sqlite3.h>

/// sqlite3_bind_blob that copies the bytes (SQLITE_TRANSIENT); a zero-length blob, never NULL, for n == 0.
static inline int feedback_bind_blob(sqlite3_stmt *stmt, int index, const void *bytes, int n) {
    if (n == 0) return sqlite3_bind_zeroblob(stmt, index, 0);
    return sqlite3_bind_blob(stmt, index, bytes, n, SQLITE_TRANSIENT);
}

/// sqlite3_bind_text that copies the string (SQLITE_TRANSIENT).
static inline int feedback_bind_text(sqlite3_stmt *stmt, int index, const char *text) {
    return sqlite3_bind_text(stmt, index, text, -1, SQLITE_TRANSIENT);
}
