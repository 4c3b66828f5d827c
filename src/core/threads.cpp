#include "attn/core/threads.h"

#include <omp.h>

#include "kernels/cpu/blas.h"

namespace attn {

int num_threads() { return omp_get_max_threads(); }

void set_num_threads(int n) {
  if (n <= 0) n = omp_get_num_procs();
  omp_set_num_threads(n);
  kernels::cpu::blas_set_num_threads(n);
}

}  // namespace attn
