// Start a program with its stdout on a pipe, for tests and benchmarks that drive a real
// process (the support backend, tt_child). posix_spawn, not fork: forking a threaded
// process (the library's threads are running) can leave the child stuck in a sanitizer
// runtime before it execs.
#pragma once
#include <spawn.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

extern char **environ;

namespace tt_test {

// args[0] is the program's path. Returns the child's stdout to read (nullptr and pid -1
// when it could not be started: errno_out says why).
inline FILE *spawn_reading_stdout(const std::vector<std::string> &args, pid_t &pid, int *errno_out = nullptr) {
    pid = -1;
    int fds[2];
    if (pipe(fds) != 0) return nullptr;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    posix_spawn_file_actions_addclose(&fa, fds[0]);
    std::vector<std::string> copy = args;
    std::vector<char *> argv;
    for (auto &a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        if (errno_out) *errno_out = rc;
        close(fds[0]);
        pid = -1;
        return nullptr;
    }
    return fdopen(fds[0], "r");
}

}  // namespace tt_test
