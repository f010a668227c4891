// The `sandbank` executable: everything lives in sandbank::cli.
#include "sandbank/cli/cli.h"

int main(int argc, char** argv) { return sandbank::cli::runCli(argc, argv); }
