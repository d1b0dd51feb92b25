#pragma once
// The error type is part of the public API (include/whittle/), which owns it.
#include "whittle/error.h"
