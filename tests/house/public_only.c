/* Compiles: built as the command is, including only public headers. */
#include "provost/compiler.h"
#include "provost/provider.h"
#include "provost/provost.h"
int house_public_only(void);
int house_public_only(void) { return provost_is_bundle("", 0); }
