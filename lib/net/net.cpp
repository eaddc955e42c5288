#include "net/net.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/utsname.h>

#include <clocale>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>

namespace tt::net {
namespace {

bool private_v4(uint32_t a) {  // host order
    return (a >> 24) == 10 || (a >> 20) == (172u << 4 | 1) || (a >> 16) == (192u << 8 | 168) || (a >> 22) == (100u << 2 | 1);  // + CGNAT 100.64/10
}

std::string os_release(const char *key) {
    std::ifstream f("/etc/os-release");
    std::string line, want = std::string(key) + "=";
    while (std::getline(f, line))
        if (line.rfind(want, 0) == 0) {
            std::string v = line.substr(want.size());
            if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
            return v;
        }
    return {};
}

}  // namespace

std::vector<Address> local_addresses() {
    std::vector<Address> out;
    struct ifaddrs *list = nullptr;
    if (getifaddrs(&list) != 0) return out;
    for (struct ifaddrs *i = list; i; i = i->ifa_next) {
        if (!i->ifa_addr || !(i->ifa_flags & IFF_UP)) continue;
        Address a;
        a.interface = i->ifa_name ? i->ifa_name : "";
        a.loopback = i->ifa_flags & IFF_LOOPBACK;
        char buf[INET6_ADDRSTRLEN] = {};
        if (i->ifa_addr->sa_family == AF_INET) {
            auto *s = reinterpret_cast<sockaddr_in *>(i->ifa_addr);
            inet_ntop(AF_INET, &s->sin_addr, buf, sizeof buf);
            uint32_t h = ntohl(s->sin_addr.s_addr);
            a.family = "ipv4";
            a.is_private = private_v4(h);
            a.link_local = (h >> 16) == (169u << 8 | 254);
        } else if (i->ifa_addr->sa_family == AF_INET6) {
            auto *s = reinterpret_cast<sockaddr_in6 *>(i->ifa_addr);
            inet_ntop(AF_INET6, &s->sin6_addr, buf, sizeof buf);
            a.family = "ipv6";
            const uint8_t *b = s->sin6_addr.s6_addr;
            a.link_local = b[0] == 0xfe && (b[1] & 0xc0) == 0x80;
            a.is_private = (b[0] & 0xfe) == 0xfc;  // unique local fc00::/7
        } else {
            continue;
        }
        a.address = buf;
        out.push_back(std::move(a));
    }
    freeifaddrs(list);
    return out;
}

Platform platform() {
    Platform p;
    struct utsname u;
    if (uname(&u) == 0) {
        p.kernel = std::string(u.sysname) + " " + u.release;
        p.arch = u.machine;
    }
    p.os_name = os_release("NAME");
    p.os_version = os_release("VERSION_ID");
    if (p.os_name.empty()) p.os_name = "Linux";
    const char *lang = std::getenv("LC_ALL");
    if (!lang || !*lang) lang = std::getenv("LC_MESSAGES");
    if (!lang || !*lang) lang = std::getenv("LANG");
    p.locale = lang && *lang ? lang : "C";
    const char *tz = std::getenv("TZ");
    if (tz && *tz) {
        p.time_zone = tz;
    } else {
        std::ifstream f("/etc/timezone");
        std::getline(f, p.time_zone);
        if (p.time_zone.empty()) {
            time_t now = time(nullptr);
            struct tm tm;
            localtime_r(&now, &tm);
            p.time_zone = tm.tm_zone ? tm.tm_zone : "UTC";
        }
    }
    return p;
}

}  // namespace tt::net
