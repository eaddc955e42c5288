// Facts about this device for a report: local addresses (getifaddrs) and platform.
#pragma once
#include <string>
#include <vector>

namespace tt::net {

struct Address {
    std::string interface, family, address;  // family: "ipv4" or "ipv6"
    bool loopback = false, is_private = false, link_local = false;
};

// Every address of every interface that is up, IPv4 and IPv6.
std::vector<Address> local_addresses();

struct Platform {
    std::string os_name, os_version, kernel, arch, locale, time_zone;
};
Platform platform();

}  // namespace tt::net
