// archetype/io/search_log.hpp — the JSON-lines log of a search: one record per line, appended as it
// happens.
//
// Contract: a search_log owns one file of JSON lines. Opening it keeps the first `keep` complete
// records (lines ending in '\n') and cuts the file after them: records past `keep` and a torn last
// line (a write cut short by a crash) are removed, so a resumed search can make its log agree with its
// checkpoint (it then appends what the checkpoint holds beyond records()). The file is created when
// missing; keep = 0 starts it empty. append() writes one compact record and its newline with a single
// write(2) on a file opened O_APPEND: a line is in the file (in the kernel, safe from a killed process)
// when append returns; with `durable` each line is also fsynced (safe from power loss, slower). A kept
// line that is not JSON is an archetype::error naming the file and the line. read_search_log(path)
// returns the complete records of a log (a torn last line is left out). Errors name the path, the step
// and the OS error.
#pragma once

#include <cerrno>
#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "archetype/core/atomic_file.hpp"
#include "archetype/io/json.hpp"

namespace archetype {

namespace detail {
inline error log_error(const std::filesystem::path& path, const std::string& step, int e) {
    return error("search log '" + path.string() + "': " + step + " failed: " + os_error(e) +
                 "; check that the directory exists and is writable and that the disk is not full");
}
inline std::string_view as_text(const std::vector<unsigned char>& bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
}
}  // namespace detail

// The complete records of a log file; a last line without its newline is left out.
inline std::vector<json> read_search_log(const std::filesystem::path& path) {
    const auto bytes = read_file(path, "search log");
    std::string_view text = detail::as_text(bytes);
    text = text.substr(0, text.rfind('\n') + 1);  // npos + 1 == 0: no complete line
    return parse_json_lines(text, path.string());
}

class search_log {
public:
    search_log(std::filesystem::path path, std::size_t keep, bool durable = false)
        : path_(std::move(path)), durable_(durable) {
        fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd_ < 0) throw detail::log_error(path_, "open", errno);
        try {
            cut(keep);
        } catch (...) {
            ::close(fd_);
            throw;
        }
        ::close(fd_);
        fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
        if (fd_ < 0) throw detail::log_error(path_, "reopen for appending", errno);
    }
    search_log(const search_log&) = delete;
    search_log& operator=(const search_log&) = delete;
    ~search_log() {
        if (fd_ >= 0) ::close(fd_);
    }

    const std::filesystem::path& path() const { return path_; }
    // Records in the file: those kept on opening plus those appended since.
    std::size_t records() const { return records_; }

    void append(const json& record) {
        const std::string line = to_json_line(record);
        std::size_t done = 0;
        while (done < line.size()) {
            const ::ssize_t put = ::write(fd_, line.data() + done, line.size() - done);
            if (put < 0) {
                if (errno == EINTR) continue;
                throw detail::log_error(path_, "write", errno);
            }
            done += std::size_t(put);
        }
        if (durable_ && ::fsync(fd_) != 0) throw detail::log_error(path_, "fsync", errno);
        ++records_;
    }

private:
    // Keeps the first `keep` complete lines and truncates the file after them.
    void cut(std::size_t keep) {
        const auto bytes = read_file(path_, "search log");
        const std::string_view text = detail::as_text(bytes);
        std::size_t end = 0;
        while (records_ < keep) {
            const std::size_t nl = text.find('\n', end);
            if (nl == std::string_view::npos) break;  // a torn or missing line: cut here
            const std::string_view line = text.substr(end, nl - end);
            json_parser(line, path_.string(), records_ + 1).parse_document();  // throws on a bad line
            end = nl + 1;
            ++records_;
        }
        if (end != text.size() && ::ftruncate(fd_, ::off_t(end)) != 0)
            throw detail::log_error(path_, "truncate", errno);
        if (end != text.size() && ::fsync(fd_) != 0) throw detail::log_error(path_, "fsync", errno);
    }

    std::filesystem::path path_;
    bool durable_;
    int fd_ = -1;
    std::size_t records_ = 0;
};

}  // namespace archetype
