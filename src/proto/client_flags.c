/* The client flags' limit every protocol reads: one value, set at start. */
#include "proto/protocol.h"

uint64_t proto_flags_max = UINT32_MAX;
