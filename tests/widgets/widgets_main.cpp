// Entry point of the widget tests: offscreen Qt unless a platform is set, one QApplication, and
// ctxlab-cli taken from this build (children the widgets start).
#include <gtest/gtest.h>

#include <QApplication>

int main(int argc, char** argv) {
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
#ifdef CTXLAB_CLI
  if (qEnvironmentVariableIsEmpty("CTXLAB_CLI")) qputenv("CTXLAB_CLI", CTXLAB_CLI);
#endif
  QApplication app(argc, argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
