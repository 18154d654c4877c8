// The position-scheme registry: one entry per scheme, each built by its own file's constructor.
// model.position names an entry; the method registry (methods/) holds the same names' parameters.
#include "config/run_config.h"
#include "model/absolute_positions.h"
#include "model/alibi_positions.h"
#include "model/irpe_positions.h"
#include "model/pia_positions.h"
#include "model/relative_positions.h"
#include "model/rope.h"

namespace ctx {
namespace {

class NoPositions : public PositionScheme {};

template <class S>
std::shared_ptr<PositionScheme> with_model(const ModelConfig& m, const nlohmann::json&) {
  return std::make_shared<S>(m);
}
template <class S>
std::shared_ptr<PositionScheme> with_model_and_scaling(const ModelConfig& m,
                                                       const nlohmann::json& rs) {
  return std::make_shared<S>(m, rs);
}

std::shared_ptr<PositionScheme> make_learned(const ModelConfig& m, const nlohmann::json&) {
  return std::make_shared<LearnedPositions>(
      m.max_positions, m.d_model, m.position_params.value("init_interpolation", "stretch"),
      m.position_params.value("pad", "repeat"));
}
std::shared_ptr<PositionScheme> make_sinusoidal(const ModelConfig& m, const nlohmann::json&) {
  return std::make_shared<SinusoidalPositions>(m.d_model,
                                               m.position_params.at("base").get<double>());
}
std::shared_ptr<PositionScheme> make_pia(const ModelConfig& m, const nlohmann::json&) {
  return std::make_shared<PiaPositions>(m.d_model, m.position_params.at("base").get<double>(),
                                        m.position_params.at("cache").get<bool>(),
                                        m.position_params.value("position_offset", 0.0));
}
std::shared_ptr<PositionScheme> make_nope(const ModelConfig&, const nlohmann::json&) {
  return std::make_shared<NoPositions>();
}

}  // namespace

const std::vector<PositionSchemeEntry>& position_scheme_registry() {
  static const std::vector<PositionSchemeEntry> entries = {
      {"rope", with_model_and_scaling<RopeScheme>},
      {"learned", make_learned},
      {"sinusoidal", make_sinusoidal},
      {"nope", make_nope},
      {"pia", make_pia},
      {"alibi", with_model<AlibiPositions>},
      {"relative", with_model<RelativePositions>},
      {"irpe", with_model_and_scaling<IrpePositions>},
  };
  return entries;
}

std::shared_ptr<PositionScheme> make_position_scheme(const ModelConfig& model,
                                                     const nlohmann::json& rope_scaling) {
  for (const auto& e : position_scheme_registry())
    if (e.name == model.position) return e.make(model, rope_scaling);
  throw ConfigError("model.position.type: no model implementation for '" + model.position + "'");
}

}  // namespace ctx
