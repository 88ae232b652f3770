// dwctl: the operator CLI. Placeholder until the control socket lands (issue 3).
#include <cstdio>

int main() {
  std::fputs("dwctl: no control socket support in this build yet\n", stderr);
  return 2;
}
