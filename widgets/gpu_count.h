// The configurator's GPU-count control, on the line under train.device's editor: how many GPUs
// the next Launch trains on. Enabled only where several can be used (multi_gpu.h: CUDA, enough
// GPUs, NCCL, torchrun); otherwise disabled at 1, with the reason beside it (wrapped, so that it
// never widens the form's column).
#pragma once

#include <QWidget>

#include "widgets/multi_gpu.h"

class QLabel;
class QSpinBox;

namespace ctx::gui {

class GpuCountControl : public QWidget {
  Q_OBJECT
 public:
  explicit GpuCountControl(QWidget* parent = nullptr);

  void setMultiGpu(const MultiGpu& m);
  const MultiGpu& multiGpu() const { return m_; }
  int count() const;  // 1 while disabled
  QSpinBox* spin() const { return spin_; }
  QLabel* note() const { return note_; }  // the reason, or what more than 1 launches

 signals:
  void countChanged(int n);

 private:
  void update_note();
  MultiGpu m_;
  QSpinBox* spin_;
  QLabel* note_;
};

}  // namespace ctx::gui
