/* Must not compile: the command sees the libraries only through include/. */
#include "provost/provost.h"
#include "vm/bundle.h"
int house_tools_includes_bundle(void);
int house_tools_includes_bundle(void) { return 0; }
