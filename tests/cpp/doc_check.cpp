// Keeps the code samples in docs/ honest. Usage: tt_doc_check REPO_ROOT DOC.md...
//
// In a doc, a fenced code block follows a marker naming the file it comes from:
//     <!-- sample: tests/cpp/doc_samples/hello.cpp -->        the whole file
//     <!-- sample: tests/cpp/doc_samples/hello.cpp#open -->   the lines between
//                                                              "// [doc:open]" and "// [/doc:open]"
// The block must equal that text (a region is dedented; marker lines are left out of a whole
// file). The sample files are compiled and run by tests/cpp/CMakeLists.txt. Every block
// tagged c or cpp must have a marker, so no C or C++ sample in the docs goes untested.
#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace {

std::vector<std::string> lines_of(const std::string &path, bool &ok) {
    std::ifstream f(path);
    ok = static_cast<bool>(f);
    std::vector<std::string> out;
    std::string line;
    while (std::getline(f, line)) out.push_back(line);
    return out;
}

std::string trim(const std::string &s) {
    size_t b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

bool is_region_marker(const std::string &line) {
    std::string t = trim(line);
    return t.rfind("// [doc:", 0) == 0 || t.rfind("// [/doc:", 0) == 0 || t.rfind("/* [doc:", 0) == 0 ||
           t.rfind("/* [/doc:", 0) == 0;
}

// The expected text of a sample reference, or an error message in `err`.
std::vector<std::string> expected(const std::string &root, const std::string &ref, std::string &err) {
    std::string file = ref, region;
    if (auto hash = ref.find('#'); hash != std::string::npos) {
        file = ref.substr(0, hash);
        region = ref.substr(hash + 1);
    }
    bool ok;
    std::vector<std::string> all = lines_of(root + "/" + file, ok);
    if (!ok) {
        err = "cannot read " + file;
        return {};
    }
    std::vector<std::string> out;
    if (region.empty()) {
        for (auto &l : all)
            if (!is_region_marker(l)) out.push_back(l);
        return out;
    }
    bool in = false, found = false;
    for (auto &l : all) {
        std::string t = trim(l);
        if (t == "// [doc:" + region + "]" || t == "/* [doc:" + region + "] */") {
            in = found = true;
            continue;
        }
        if (t == "// [/doc:" + region + "]" || t == "/* [/doc:" + region + "] */") {
            in = false;
            continue;
        }
        if (in && !is_region_marker(l)) out.push_back(l);
    }
    if (!found) {
        err = "no region [doc:" + region + "] in " + file;
        return {};
    }
    size_t indent = std::string::npos;
    for (auto &l : out)
        if (!trim(l).empty()) indent = std::min(indent, l.find_first_not_of(" "));
    for (auto &l : out) l = l.size() >= indent && indent != std::string::npos ? l.substr(indent) : trim(l);
    return out;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s REPO_ROOT DOC.md...\n", argv[0]);
        return 2;
    }
    std::string root = argv[1];
    int failures = 0, checked = 0;
    for (int a = 2; a < argc; ++a) {
        std::string doc = argv[a];
        bool ok;
        std::vector<std::string> lines = lines_of(root + "/" + doc, ok);
        if (!ok) {
            std::fprintf(stderr, "%s: cannot read\n", doc.c_str());
            ++failures;
            continue;
        }
        std::string pending;  // a sample marker waiting for its block
        for (size_t i = 0; i < lines.size(); ++i) {
            std::string t = trim(lines[i]);
            if (t.rfind("<!-- sample:", 0) == 0) {
                pending = trim(t.substr(12, t.rfind("-->") - 12));
                continue;
            }
            if (t.rfind("```", 0) != 0) {
                if (!t.empty()) pending.clear();  // a marker applies to the very next block only
                continue;
            }
            std::string lang = trim(t.substr(3));
            std::vector<std::string> block;
            size_t start = i + 1;
            for (++i; i < lines.size() && trim(lines[i]) != "```"; ++i) block.push_back(lines[i]);
            bool code = lang == "c" || lang == "cpp" || lang == "c++";
            if (pending.empty()) {
                if (code) {
                    std::fprintf(stderr, "%s:%zu: a %s block without a <!-- sample: FILE --> marker\n", doc.c_str(), start,
                                 lang.c_str());
                    ++failures;
                }
                continue;
            }
            std::string err;
            std::vector<std::string> want = expected(root, pending, err);
            ++checked;
            if (!err.empty()) {
                std::fprintf(stderr, "%s:%zu: %s\n", doc.c_str(), start, err.c_str());
                ++failures;
            } else if (want != block) {
                size_t k = 0;
                while (k < want.size() && k < block.size() && want[k] == block[k]) ++k;
                std::fprintf(stderr, "%s:%zu: the block differs from %s at its line %zu:\n  doc:    %s\n  sample: %s\n", doc.c_str(),
                             start, pending.c_str(), k + 1, k < block.size() ? block[k].c_str() : "(end)",
                             k < want.size() ? want[k].c_str() : "(end)");
                ++failures;
            }
            pending.clear();
        }
    }
    std::printf("%d sample blocks checked, %d problems\n", checked, failures);
    return failures ? 1 : 0;
}
