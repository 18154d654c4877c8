// c10d::Reducer for either LibTorch. Its constructor changed several times (1.13 takes per-bucket
// size limits; 2.x drops them, then adds skip_all_reduce_unused_params, use_python_reducer and
// bucket_bytes_cap_list): the first form this LibTorch can construct is used, from the oldest.
// The 2.x forms are read from PyTorch's sources, not compiled here.
#include "train/gradient_sync.h"

#include "train/c10d_groups.h"

#ifdef CTXLAB_HAVE_C10D

#include <torch/csrc/distributed/c10d/reducer.hpp>

#include <algorithm>
#include <type_traits>
#include <unordered_map>

namespace ctx {
namespace {

template <class>
inline constexpr bool kAlwaysFalse = false;

using Params = std::vector<at::Tensor>;
using Buckets = std::vector<std::vector<size_t>>;
using Limits = std::vector<size_t>;
using PG = c10::intrusive_ptr<c10d::ProcessGroup>;
using Sparse = std::vector<bool>;
using Names = std::unordered_map<size_t, std::string>;

template <class R = c10d::Reducer>
std::shared_ptr<R> make_reducer(const Params& params, const Buckets& buckets, const Limits& limits, const PG& pg,
                                bool find_unused, const Names& names) {
  const Sparse sparse(params.size(), false);
  const int64_t cap = c10d::kDefaultBucketBytesCap, first = c10d::kDefaultFirstBucketBytes;
  const bool as_view = true;  // .grad becomes a view of its bucket: no second copy of the gradients
  if constexpr (std::is_constructible_v<R, Params, Buckets, Limits, PG, Sparse, int64_t, bool, bool, Names, int64_t>) {
    return std::make_shared<R>(params, buckets, limits, pg, sparse, cap, find_unused, as_view, names, first);
  } else if constexpr (std::is_constructible_v<R, Params, Buckets, PG, Sparse, int64_t, bool, bool, Names, int64_t>) {
    (void)limits;
    return std::make_shared<R>(params, buckets, pg, sparse, cap, find_unused, as_view, names, first);
  } else if constexpr (std::is_constructible_v<R, Params, Buckets, PG, Sparse, int64_t, bool, bool, Names, int64_t,
                                               bool>) {
    (void)limits;
    return std::make_shared<R>(params, buckets, pg, sparse, cap, find_unused, as_view, names, first, false);
  } else if constexpr (std::is_constructible_v<R, Params, Buckets, PG, Sparse, int64_t, bool, bool, Names, int64_t,
                                               bool, bool>) {
    (void)limits;
    return std::make_shared<R>(params, buckets, pg, sparse, cap, find_unused, as_view, names, first, false, false);
  } else if constexpr (std::is_constructible_v<R, Params, Buckets, PG, Sparse, int64_t, bool, bool, Names, int64_t,
                                               bool, bool, std::vector<int64_t>>) {
    (void)limits;
    return std::make_shared<R>(params, buckets, pg, sparse, cap, find_unused, as_view, names, first, false, false,
                               std::vector<int64_t>{});
  } else {
    static_assert(kAlwaysFalse<R>, "no known c10d::Reducer constructor in this LibTorch");
  }
}

}  // namespace

struct GradientSync::Impl {
  std::shared_ptr<c10d::Reducer> reducer;
};

GradientSync::GradientSync(const std::vector<std::pair<std::string, torch::Tensor>>& params, Group& world,
                           bool find_unused)
    : impl_(std::make_unique<Impl>()) {
  Params tensors;
  Names names;
  for (size_t i = 0; i < params.size(); ++i) {
    tensors.push_back(params[i].second);
    names[i] = params[i].first;
  }
  // As DDP: buckets over the parameters by size, reversed so that the last layers' gradients
  // (ready first in the backward pass) go out first.
  auto [buckets, limits] = c10d::compute_bucket_assignment_by_size(
      tensors, {static_cast<size_t>(c10d::kDefaultFirstBucketBytes), static_cast<size_t>(c10d::kDefaultBucketBytesCap)},
      Sparse(tensors.size(), false));
  std::reverse(buckets.begin(), buckets.end());
  std::reverse(limits.begin(), limits.end());
  impl_->reducer = make_reducer(tensors, buckets, limits, world.process_group, find_unused, names);
}

GradientSync::~GradientSync() = default;

void GradientSync::before_forward() {
  // After the first step, buckets follow the order gradients became ready (a broadcast from rank 0).
  impl_->reducer->rebuild_buckets();
  impl_->reducer->prepare_for_forward();
}

void GradientSync::before_backward(const std::vector<torch::Tensor>& outputs) {
  impl_->reducer->prepare_for_backward(outputs);
}

}  // namespace ctx

#else

namespace ctx {
struct GradientSync::Impl {};
GradientSync::GradientSync(const std::vector<std::pair<std::string, torch::Tensor>>&, Group&, bool) {}
GradientSync::~GradientSync() = default;
void GradientSync::before_forward() {}
void GradientSync::before_backward(const std::vector<torch::Tensor>&) {}
}  // namespace ctx

#endif
