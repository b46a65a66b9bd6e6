// A fresh directory under the system's temporary directory, named after the test and the process,
// removed with everything in it when the object goes out of scope.
#pragma once

#include <filesystem>
#include <string>

#include <unistd.h>

namespace test_support {

struct temp_dir {
    std::filesystem::path path;
    explicit temp_dir(const std::string& name)
        : path(std::filesystem::temp_directory_path() / ("archetype_" + name + "_" + std::to_string(::getpid()))) {
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::filesystem::path operator/(const std::string& name) const { return path / name; }
};

}  // namespace test_support
