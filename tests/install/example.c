/* Built against an installed evring, through pkg-config and through find_package(evring). */
#include <evring/evring.h>
#include <evring/platform.h>
#include <stdio.h>

int main(void)
{
	printf("%s %u\n", evr_type_name(EVR_BUDGET_EXCEEDED), (unsigned)EVR_EVENT_COUNT);
	return evr_platform_hash() == 0;
}
