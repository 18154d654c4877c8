// CSV text and file writing for tables; see csv_export.h.
#include "widgets/csv_export.h"

#include <QFile>
#include <QFileDialog>
#include <QMessageBox>
#include <QTableWidget>

namespace ctx::gui {

QString csvField(const QString& s) {
  if (!s.contains(',') && !s.contains('"') && !s.contains('\n') && !s.contains('\r')) return s;
  QString q = s;
  q.replace('"', "\"\"");
  return '"' + q + '"';
}

QString toCsv(const std::vector<QStringList>& rows) {
  QString out;
  for (const auto& r : rows) {
    QStringList f;
    for (const auto& s : r) f << csvField(s);
    out += f.join(',') + "\n";
  }
  return out;
}

QString tableToCsv(const QTableWidget& t, const QString& corner) {
  std::vector<QStringList> rows;
  auto header_text = [](QTableWidgetItem* it, int i) { return it ? it->text() : QString::number(i + 1); };
  bool has_row_labels = false;
  for (int r = 0; r < t.rowCount(); ++r) has_row_labels |= t.verticalHeaderItem(r) != nullptr;
  QStringList head;
  if (has_row_labels) head << corner;
  for (int c = 0; c < t.columnCount(); ++c) head << header_text(t.horizontalHeaderItem(c), c).replace('\n', ' ');
  rows.push_back(head);
  for (int r = 0; r < t.rowCount(); ++r) {
    QStringList row;
    if (has_row_labels) row << header_text(t.verticalHeaderItem(r), r);
    for (int c = 0; c < t.columnCount(); ++c) row << (t.item(r, c) ? t.item(r, c)->text() : QString());
    rows.push_back(row);
  }
  return toCsv(rows);
}

QString writeTextFile(const QString& path, const QString& text) {
  QFile f(path);
  if (!f.open(QIODevice::WriteOnly | QIODevice::Truncate | QIODevice::Text))
    return "cannot write '" + path + "': " + f.errorString();
  const QByteArray bytes = text.toUtf8();
  if (f.write(bytes) != bytes.size()) return "cannot write '" + path + "': " + f.errorString();
  return {};
}

void saveCsvDialog(QWidget* parent, const QString& name, const std::function<QString()>& make) {
  const QString path = QFileDialog::getSaveFileName(parent, "Export table as CSV", name, "CSV (*.csv)");
  if (path.isEmpty()) return;
  const QString err = writeTextFile(path, make());
  if (!err.isEmpty()) QMessageBox::warning(parent, "Export", err);
}

}  // namespace ctx::gui
