/* Must not compile: a provider sees only include/ (provost/provider.h). */
#include "provost/provider.h"
#include "vm/vm.h"
int house_provider_includes_vm(void);
int house_provider_includes_vm(void) { return 0; }
