// Thread control. attn runs its kernels on one OpenMP pool and gives the BLAS the same pool (OpenBLAS's
// OpenMP build), so two spinning pools never fight over the cores.
#pragma once
#include <cstdint>

namespace attn {

int num_threads();
// Sets the threads used by attn's kernels and the BLAS. n <= 0 means all cores.
void set_num_threads(int n);

}  // namespace attn
