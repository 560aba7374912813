// libdeflate's C header for Swift: whole-buffer gzip, about twice zlib's speed at level 1.
#pragma once
#include <libdeflate.h>
