// The "init" field: train from scratch, or start from a stored run (by id or by name) or from a
// checkpoint file — {"run": N}, {"run_named": NAME}, {"checkpoint": PATH} in the config.
#pragma once

#include "widgets/config_fields.h"

namespace ctx::gui {

ConfigField* makeInitPicker(const FieldSpec& spec, QWidget* parent);

}  // namespace ctx::gui
