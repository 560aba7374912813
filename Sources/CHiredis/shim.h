// Shim over hiredis for Swift: redisCommand is variadic and does not import; commands go through
// redisAppendCommandArgv (pipelined) and redisGetReply.
#pragma once
#include <hiredis/hiredis.h>
