// benchmarks/bench_timing.hpp — timing helpers shared by the benchmarks: this thread's CPU time (the
// machine is shared, so wall time would count other processes' slices), the mean CPU time of a call
// over at least a minimum of calls' time, and the re-exec that keeps oneDNN's OpenMP on one thread.
#pragma once

#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace bench {

inline double thread_seconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
}

// Thread CPU seconds per call of f: one warm-up call, then batches of calls, each twice the last, until
// at least min_seconds have passed. The clock is read once per batch: reading the thread CPU clock is a
// system call (~1–3 µs on this VM, no vDSO), which read after every call had doubled the time of
// calls of a few µs (oneDNN on the smallest conv shapes).
template <class F>
double seconds_per_call(F&& f, double min_seconds) {
    f();
    long calls = 0;
    const double t0 = thread_seconds();
    double elapsed = 0;
    for (long batch = 1; elapsed < min_seconds; batch *= 2) {
        for (long i = 0; i < batch; ++i) f();
        calls += batch;
        elapsed = thread_seconds() - t0;
    }
    return elapsed / double(calls);
}

// libgomp reads OMP_NUM_THREADS when it is loaded: unless the variable is set, set it to 1 and start the
// program again, so that oneDNN runs on one thread like our kernels.
inline void run_openmp_on_one_thread(char** argv, const char* program) {
    if (std::getenv("OMP_NUM_THREADS")) return;
    setenv("OMP_NUM_THREADS", "1", 1);
    execv("/proc/self/exe", argv);
    std::perror((std::string(program) + ": re-exec with OMP_NUM_THREADS=1 failed; oneDNN may use every core").c_str());
}

}  // namespace bench
