// Plan: a dry run of the pending migrations.
#include "safety.hpp"
