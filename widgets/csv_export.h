// CSV for the analysis tabs' tables: RFC 4180 quoting, a table widget's visible text with its
// headers, and a save dialog that reports a failed write.
#pragma once

#include <QString>
#include <QStringList>

#include <functional>
#include <vector>

class QTableWidget;
class QWidget;

namespace ctx::gui {

QString csvField(const QString& s);
QString toCsv(const std::vector<QStringList>& rows);
// Header row first (the vertical header's title as the first column when it has labels).
QString tableToCsv(const QTableWidget& table, const QString& corner = "key");
// Writes `text` to `path`; an empty string on success, else a one-line message naming the file.
QString writeTextFile(const QString& path, const QString& text);
// Asks for a file name (suggesting `name`) and writes `make()` there; a failure shows a message box.
void saveCsvDialog(QWidget* parent, const QString& name, const std::function<QString()>& make);

}  // namespace ctx::gui
