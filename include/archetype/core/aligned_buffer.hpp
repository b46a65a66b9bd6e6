// archetype/core/aligned_buffer.hpp — owning, zero-initialised, 64-byte aligned heap array.
//
// Contract: parameters, gradients and activations live in these buffers (never on the stack); data()
// is aligned to 64 bytes, so AVX-512 loads of a buffer's start are aligned. Moves are cheap, copies are
// deep. resize() keeps nothing: it reallocates and zero-fills.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>
#include <span>
#include <utility>

namespace archetype {

inline constexpr std::size_t buffer_alignment = 64;

template <class T>
class aligned_buffer {
public:
    aligned_buffer() = default;
    explicit aligned_buffer(std::size_t n) { resize(n); }
    aligned_buffer(const aligned_buffer& o) : aligned_buffer(o.n_) {
        if (n_) std::memcpy(p_, o.p_, n_ * sizeof(T));
    }
    aligned_buffer(aligned_buffer&& o) noexcept
        : p_(std::exchange(o.p_, nullptr)), n_(std::exchange(o.n_, 0)) {}
    aligned_buffer& operator=(aligned_buffer o) noexcept {
        std::swap(p_, o.p_);
        std::swap(n_, o.n_);
        return *this;
    }
    ~aligned_buffer() { release(); }

    void resize(std::size_t n) {
        release();
        if (n == 0) return;
        // round the allocation up so that SIMD tails may read (never write) a full vector past the end
        std::size_t bytes = (n * sizeof(T) + buffer_alignment - 1) / buffer_alignment * buffer_alignment;
        p_ = static_cast<T*>(::operator new(bytes, std::align_val_t{buffer_alignment}));
        std::memset(static_cast<void*>(p_), 0, bytes);
        n_ = n;
    }
    void fill(T v) { std::fill(p_, p_ + n_, v); }

    T* data() { return p_; }
    const T* data() const { return p_; }
    std::size_t size() const { return n_; }
    T& operator[](std::size_t i) { return p_[i]; }
    const T& operator[](std::size_t i) const { return p_[i]; }
    std::span<T> span() { return {p_, n_}; }
    std::span<const T> span() const { return {p_, n_}; }

private:
    void release() {
        if (p_) ::operator delete(static_cast<void*>(p_), std::align_val_t{buffer_alignment});
        p_ = nullptr;
        n_ = 0;
    }
    T* p_ = nullptr;
    std::size_t n_ = 0;
};

// A buffer of at least n T per thread and per Tag (a type naming its use, so that nested users do not
// share one), kept between calls: the scratch of kernels that run concurrently inside parallel_for.
// Growing it reallocates and zero-fills; the contents do not survive a larger request.
template <class Tag, class T = float>
T* per_thread_buffer(std::size_t n) {
    thread_local aligned_buffer<T> buf;
    if (buf.size() < n) buf.resize(n);
    return buf.data();
}

}  // namespace archetype
