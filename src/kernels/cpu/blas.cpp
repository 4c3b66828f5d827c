#include "kernels/cpu/blas.h"

#include <dlfcn.h>
#include <omp.h>

#include <cctype>
#include <cstdlib>
#include <mutex>
#include <optional>

#include "attn/core/error.h"

namespace attn::kernels::cpu {
namespace {

// CBLAS enums (cblas.h): row-major 101, no-trans 111, trans 112.
using SgemmFn = void (*)(int, int, int, int, int, int, float, const float*, int, const float*, int, float, float*,
                         int);
using SetThreadsFn = void (*)(int);
using GetStringFn = char* (*)();

struct Blas {
  SgemmFn sgemm = nullptr;
  SetThreadsFn set_num_threads = nullptr;
  GetStringFn get_config = nullptr;
  GetStringFn get_corename = nullptr;
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// The core type OpenBLAS should see while it initialises, or nullopt to leave the environment alone.
std::optional<std::string> wanted_coretype() {
  if (const char* forced = std::getenv("ATTN_BLAS_CORETYPE")) return std::string(forced);
  const char* inherited = std::getenv("OPENBLAS_CORETYPE");
  if (inherited == nullptr) return std::nullopt;
  __builtin_cpu_init();
  bool avx512 = __builtin_cpu_supports("avx512f");
  std::string core = lower(inherited);
  bool avx2_only_core = core == "haswell" || core == "zen" || core == "sandybridge";
  if (avx512 && avx2_only_core) return std::string();  // empty: let OpenBLAS detect the CPU
  return std::nullopt;
}

Blas load() {
  std::optional<std::string> core = wanted_coretype();
  std::optional<std::string> saved;
  if (core) {
    if (const char* old = std::getenv("OPENBLAS_CORETYPE")) saved = old;
    if (core->empty()) {
      unsetenv("OPENBLAS_CORETYPE");
    } else {
      setenv("OPENBLAS_CORETYPE", core->c_str(), 1);
    }
  }
  const char* lib = std::getenv("ATTN_BLAS_LIB");
  void* handle = dlopen(lib ? lib : "libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
  if (core) {  // restore what the user had, for any child process
    if (saved) {
      setenv("OPENBLAS_CORETYPE", saved->c_str(), 1);
    } else {
      unsetenv("OPENBLAS_CORETYPE");
    }
  }
  ATTN_CHECK(handle != nullptr, "cannot load the BLAS ({}): {}. Install it with scripts/setup (libopenblas0-openmp)",
             lib ? lib : "libopenblas.so.0", dlerror());
  Blas b;
  b.sgemm = reinterpret_cast<SgemmFn>(dlsym(handle, "cblas_sgemm"));
  ATTN_CHECK(b.sgemm != nullptr, "the BLAS library has no cblas_sgemm");
  b.set_num_threads = reinterpret_cast<SetThreadsFn>(dlsym(handle, "openblas_set_num_threads"));
  b.get_config = reinterpret_cast<GetStringFn>(dlsym(handle, "openblas_get_config"));
  b.get_corename = reinterpret_cast<GetStringFn>(dlsym(handle, "openblas_get_corename"));
  if (b.set_num_threads) b.set_num_threads(omp_get_max_threads());
  return b;
}

const Blas& blas() {
  static const Blas b = load();
  return b;
}

}  // namespace

void blas_sgemm(Trans ta, Trans tb, int m, int n, int k, float alpha, const float* a, int lda, const float* b,
                int ldb, float beta, float* c, int ldc) {
  if (m == 0 || n == 0) return;
  blas().sgemm(101, ta == Trans::kYes ? 112 : 111, tb == Trans::kYes ? 112 : 111, m, n, k, alpha, a, lda, b, ldb,
               beta, c, ldc);
}

void blas_set_num_threads(int n) {
  if (blas().set_num_threads) blas().set_num_threads(n);
}

std::string blas_description() {
  const Blas& b = blas();
  std::string s = b.get_config ? b.get_config() : "BLAS";
  if (b.get_corename) s += std::string(" (core: ") + b.get_corename() + ")";
  return s;
}

}  // namespace attn::kernels::cpu
