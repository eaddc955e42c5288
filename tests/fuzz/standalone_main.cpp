// Without clang's libFuzzer (a GCC build), a fuzz target still runs under ctest: every
// file of its seed corpus, then deterministic pseudo-random inputs and mutations of the
// seeds. The real coverage-guided run happens in the clang build (see CMakeLists.txt).
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int main(int argc, char **argv) {
    std::vector<std::string> seeds;
    for (int i = 1; i < argc; ++i) {
        std::filesystem::path p(argv[i]);
        std::vector<std::filesystem::path> files;
        if (std::filesystem::is_directory(p))
            for (auto &e : std::filesystem::directory_iterator(p)) files.push_back(e.path());
        else
            files.push_back(p);
        for (auto &f : files) {
            std::ifstream in(f, std::ios::binary);
            seeds.emplace_back(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        }
    }
    for (auto &s : seeds) LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(s.data()), s.size());
    std::mt19937_64 rng(12345);
    std::string buf;
    for (int i = 0; i < 200000; ++i) {
        if (!seeds.empty() && i % 2) {
            buf = seeds[rng() % seeds.size()];
            for (int k = 0, m = 1 + static_cast<int>(rng() % 8); k < m && !buf.empty(); ++k)
                buf[rng() % buf.size()] = static_cast<char>(rng());
        } else {
            buf.resize(rng() % 300);
            for (auto &c : buf) c = static_cast<char>(rng() % 4 ? rng() % 0x80 : rng());
        }
        LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t *>(buf.data()), buf.size());
    }
    std::printf("%zu seeds and 200000 generated inputs: no invariant broken\n", seeds.size());
    return 0;
}
