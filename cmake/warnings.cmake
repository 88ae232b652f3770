# Our warnings, linked PRIVATE to our own targets only; -Werror comes from the ci preset.
add_library(dw_warnings INTERFACE)
target_compile_options(dw_warnings INTERFACE
  -Wall -Wextra -Wpedantic -Wconversion -Wshadow -Wnon-virtual-dtor
  -Wold-style-cast -Wimplicit-fallthrough)
