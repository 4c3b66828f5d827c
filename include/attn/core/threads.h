// Thread control. attn runs its kernels on one OpenMP pool and gives the BLAS the same pool (OpenBLAS's
// OpenMP build), so two spinning pools never fight over the cores.
#pragma once
#include <cstdint>
#include <exception>
#include <mutex>

namespace attn {

int num_threads();
// Sets the threads used by attn's kernels and the BLAS. n <= 0 means all cores.
void set_num_threads(int n);

// f(i) for i in [0, n) on the OpenMP pool, dynamically scheduled, for uneven work such as texts of any length.
// An exception thrown by f (which OpenMP would turn into std::terminate) is carried out: the first one is
// rethrown once the loop ends.
template <class F>
void parallel_each(int64_t n, F&& f) {
  std::exception_ptr error;
  std::mutex error_mutex;
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t i = 0; i < n; ++i) {
    try {
      f(i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace attn
