// archetype/core/atomic_file.hpp — whole-file reads, and whole-file writes that are atomic (POSIX).
//
// Contract: write_file_atomically(path, bytes) leaves either the old file or the complete new one at
// `path`, never a partial file, even if the process dies midway: it writes a temporary file in the same
// directory ("<name>.tmp.<pid>.<n>"), fsyncs it, renames it over `path` and fsyncs the directory (best
// effort). The new file's permissions follow the umask, as for any newly created file. On any failure
// it removes the temporary file and throws archetype::error naming the path, the step that failed and
// the OS error. read_file(path) returns a file's bytes or throws archetype::error naming the path and
// the OS error. Used for weights, logs and checkpoints.
#pragma once

#include <atomic>
#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "archetype/core/error.hpp"

namespace archetype {

namespace detail {
inline std::string os_error(int e) { return std::error_code(e, std::generic_category()).message(); }
}  // namespace detail

// All bytes of a file. `what` names the file's role in the message ("weights file", "IDX file", ...).
inline std::vector<unsigned char> read_file(const std::filesystem::path& path, std::string_view what = "file") {
    auto fail = [&](const char* step, int e) {
        return error("cannot read " + std::string(what) + " '" + path.string() + "': " + step + ": " +
                     detail::os_error(e) + "; check that the path is right and readable");
    };
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw fail("open", errno);
    struct ::stat st {};
    if (::fstat(fd, &st) != 0) {
        const int e = errno;
        ::close(fd);
        throw fail("stat", e);
    }
    if (S_ISDIR(st.st_mode)) {
        ::close(fd);
        throw fail("open", EISDIR);
    }
    std::vector<unsigned char> bytes;
    bytes.reserve(S_ISREG(st.st_mode) ? std::size_t(st.st_size) : 0);
    unsigned char chunk[1 << 16];
    for (;;) {
        const ::ssize_t got = ::read(fd, chunk, sizeof chunk);
        if (got < 0) {
            if (errno == EINTR) continue;
            const int e = errno;
            ::close(fd);
            throw fail("read", e);
        }
        if (got == 0) break;
        bytes.insert(bytes.end(), chunk, chunk + got);
    }
    ::close(fd);
    return bytes;
}

inline void write_file_atomically(const std::filesystem::path& path, std::span<const unsigned char> data) {
    static std::atomic<unsigned> counter{0};
    std::filesystem::path dir = path.parent_path();
    if (dir.empty()) dir = ".";
    const std::string tmp = path.string() + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(counter++);
    auto fail = [&](const char* step, int e, bool remove_tmp) {
        if (remove_tmp) ::unlink(tmp.c_str());
        return error("cannot write '" + path.string() + "': " + step + " failed: " + detail::os_error(e) +
                     "; check that the directory exists and is writable and that the disk is not full");
    };

    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0) throw fail("creating the temporary file", errno, false);
    std::size_t done = 0;
    while (done < data.size()) {
        const ::ssize_t put = ::write(fd, data.data() + done, data.size() - done);
        if (put < 0) {
            if (errno == EINTR) continue;
            const int e = errno;
            ::close(fd);
            throw fail("write", e, true);
        }
        done += std::size_t(put);
    }
    if (::fsync(fd) != 0) {
        const int e = errno;
        ::close(fd);
        throw fail("fsync", e, true);
    }
    if (::close(fd) != 0) throw fail("close", errno, true);
    if (::rename(tmp.c_str(), path.c_str()) != 0) throw fail("rename", errno, true);
    // Make the rename itself durable; some file systems cannot fsync a directory, which is harmless.
    const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)::fsync(dfd);
        ::close(dfd);
    }
}

inline void write_file_atomically(const std::filesystem::path& path, std::string_view text) {
    write_file_atomically(path, std::span<const unsigned char>(
                                    reinterpret_cast<const unsigned char*>(text.data()), text.size()));
}

}  // namespace archetype
