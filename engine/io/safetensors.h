// Everything safetensors in one include: the format and header parser, mapped files, the writer
// and sharder, model folders, and 16-bit float conversions. No LibTorch.
#pragma once

#include "io/half_float.h"
#include "io/safetensors_file.h"
#include "io/safetensors_folder.h"
#include "io/safetensors_format.h"
#include "io/safetensors_writer.h"
