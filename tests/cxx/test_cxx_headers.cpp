// Every public header, compiled as C++20 with -Wall -Wextra -Wpedantic -Werror, linked against
// libevring.so: the declarations have C linkage and the layout assertions hold in C++ too.
#include <evring/evring.h>
#include <evring/platform.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>

static_assert(sizeof(evr_record) == EVR_RECORD_SIZE, "the record is the wire format in C++ too");

int main()
{
	int fails = 0;
	auto check = [&fails](bool ok, const char *what) {
		if (!ok) {
			std::printf("FAIL: %s\n", what);
			fails++;
		}
	};
	check(std::string_view(evr_type_name(EVR_TOOL_RETRIED)) == "tool_retried", "evr_type_name");
	check(evr_type_from_name("tool_retried") == EVR_TOOL_RETRIED, "evr_type_from_name");
	evr_record r;
	evr_record_init(&r, EVR_TOOL_RETRIED, 42, 7);
	EVR_SET_STR(&r, EVR_EV(&r, tool_retried)->tool, "web_search");
	EVR_EV(&r, tool_retried)->attempt = 2;
	char json[512];
	check(evr_record_to_json(&r, json, sizeof json) > 0 && std::strstr(json, "\"tool\":\"web_search\""),
	      "evr_record_to_json");
	check(std::string_view(evr_strerror(-EEXIST)).size() > 0, "evr_strerror");
	std::printf("C++ headers: %d failed\n", fails);
	return fails != 0;
}
