// GpuCountControl; see gpu_count.h.
#include "widgets/gpu_count.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>

namespace ctx::gui {

GpuCountControl::GpuCountControl(QWidget* parent) : QWidget(parent) {
  auto* row = new QHBoxLayout(this);
  row->setContentsMargins(0, 0, 0, 0);
  row->setSpacing(4);
  auto* label = new QLabel("GPUs", this);
  spin_ = new QSpinBox(this);
  spin_->setRange(1, 1);
  spin_->setFixedWidth(56);
  spin_->setObjectName("gpuCount");
  spin_->setToolTip(
      "<b>GPUs</b><br>How many GPUs Launch trains on. More than 1: the queue runs<br>"
      "<tt>torchrun --standalone --nproc_per_node N --no-python ctxlab-cli train …</tt><br>"
      "with train.device cuda, one rank per GPU, train.batch_size rows per GPU, and NCCL_NVLS_ENABLE=0.");
  label->setToolTip(spin_->toolTip());
  note_ = new QLabel(this);
  note_->setObjectName("gpuNote");
  note_->setWordWrap(true);  // a long reason must not widen the form's column
  note_->setStyleSheet("color: palette(placeholder-text);");
  note_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  row->addWidget(label);
  row->addWidget(spin_);
  row->addSpacing(6);
  row->addWidget(note_, 1);
  connect(spin_, qOverload<int>(&QSpinBox::valueChanged), this, [this](int n) {
    update_note();
    emit countChanged(n);
  });
  update_note();
}

void GpuCountControl::setMultiGpu(const MultiGpu& m) {
  m_ = m;
  const int most = maxGpus(m_);
  spin_->setRange(1, most);
  spin_->setEnabled(most > 1);
  update_note();
}

int GpuCountControl::count() const {
  return spin_->isEnabled() ? spin_->value() : 1;
}

void GpuCountControl::update_note() {
  QString text;
  if (!spin_->isEnabled()) {
    const QString why = multiGpuRefusal(m_, std::max(2, m_.gpus));
    text = m_.probed || !m_.error.isEmpty() ? "Several GPUs unavailable: " + why : why;
  } else if (count() > 1) {
    text = QString("Launches %1 --nproc_per_node %2: one rank per GPU, train.batch_size rows each")
               .arg(m_.torchrun.text())
               .arg(count());
  } else {
    text = QString("%1 CUDA GPUs found: more than 1 launches through %2").arg(m_.gpus).arg(m_.torchrun.text());
  }
  note_->setText(text);
  note_->setToolTip(text);
  note_->setVisible(!text.isEmpty());
}

}  // namespace ctx::gui
